// Types of @tutti/client, for TypeScript users and editors (the package itself is plain JavaScript).
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';

/** A message as a plain object: the .proto field names, enums by name, int64 as strings, maps as objects. */
export type Fields = { [field: string]: unknown };

export interface ConnectOptions {
  /** Default: plaintext (grpc.credentials.createInsecure()). */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** The deadline of each call unless the call sets its own; default 10000. */
  timeoutMs?: number;
}

export interface RouteOptions {
  timeoutMs?: number;
  /** A cost cap for this request, in USD; 0 means the composition's own. */
  maxCostUsd?: number;
  /** Skip the stage result cache. */
  noCache?: boolean;
}

/** tutti.v1.CompositionInfo without its descriptors. */
export interface CompositionInfo {
  name: string;
  input_type: string;
  output_type: string;
  stages: string[];
  budget_latency_ms: number;
  budget_cost_usd: number;
}

/** tutti.v1.StageRun */
export interface StageRun {
  stage: string;
  model: string;
  model_version: string;
  status: string;
  latency_ms: number;
  budget_ms: number;
  over_budget: boolean;
  cost_usd: number;
  cache_hit: boolean;
  detail: string;
  compute_ms: number;
}

/** tutti.v1.Execution: what ran on the way. */
export interface Execution {
  stages: StageRun[];
  path: string[];
  total_cost_usd: number;
  latency_ms: number;
  composition: string;
}

export interface Routed<Output extends Fields = Fields> {
  /** The composition's output, a message of its output type. */
  output: Output;
  /** The output's full type name, e.g. "acme.v1.Answer". */
  outputType: string;
  execution: Execution;
}

/**
 * The text chunks of a completion, and its response. The call runs whether or not the stream
 * is read: text not yet read is kept in the stream until it is iterated.
 */
export interface CompletionStream<Output extends Fields = Fields> extends AsyncIterableIterator<string> {
  /**
   * Resolves as soon as the router has answered, read or not (awaiting it alone is enough);
   * rejects on a failure, or CANCELLED after `cancel()` or leaving the loop early.
   */
  response: Promise<Routed<Output>>;
  /**
   * Stop the generation, before or while reading: `response` rejects and the iteration throws,
   * CANCELLED; a no-op once the router has answered.
   */
  cancel(): void;
}

export class TuttiClient {
  constructor(router: string, options?: ConnectOptions);
  readonly router: string;
  listCompositions(options?: { timeoutMs?: number }): Promise<CompositionInfo[]>;
  route<Output extends Fields = Fields>(composition: string, input: Fields, options?: RouteOptions): Promise<Routed<Output>>;
  routeCompletion<Output extends Fields = Fields>(composition: string, input: Fields, options?: RouteOptions): CompletionStream<Output>;
  close(): void;
}

/** A client of the router at "host:port"; nothing is sent before the first call. */
export function connect(router: string, options?: ConnectOptions): TuttiClient;

export class TuttiError extends Error {
  constructor(code: number, details: string, extra?: { metadata?: object; cause?: unknown });
  /** The gRPC status code, e.g. 5. */
  readonly code: number;
  /** The status code's name, e.g. "NOT_FOUND". */
  readonly codeName: string;
  /** The status message. */
  readonly details: string;
  readonly metadata: { [key: string]: unknown };
}
/** INVALID_ARGUMENT; `field` names the input field the client refused ("customer.id"). */
export class InvalidArgumentError extends TuttiError {
  constructor(details: string, extra?: { field?: string; metadata?: object; cause?: unknown });
  readonly field: string | undefined;
}
/** NOT_FOUND: a composition the router does not serve. */
export class NotFoundError extends TuttiError {
  constructor(details: string, extra?: { metadata?: object; cause?: unknown });
}
/** DEADLINE_EXCEEDED */
export class DeadlineExceededError extends TuttiError {
  constructor(details: string, extra?: { metadata?: object; cause?: unknown });
}
/** RESOURCE_EXHAUSTED: a cost cap, or an overloaded router. */
export class ResourceExhaustedError extends TuttiError {
  constructor(details: string, extra?: { metadata?: object; cause?: unknown });
}
/** UNAVAILABLE: the router, or a stage behind it, cannot be reached. */
export class UnavailableError extends TuttiError {
  constructor(details: string, extra?: { metadata?: object; cause?: unknown });
}
