// A connection to one Tutti router: list its compositions, route plain objects, stream completions.
'use strict';

const grpc = require('@grpc/grpc-js');
const { RouterClient, routerType } = require('./router');
const { CompositionTypes, PLAIN } = require('./types');
const { NotFoundError, TuttiError, fromGrpcError } = require('./errors');

const DEFAULT_TIMEOUT_MS = 10000;
const EXECUTION = routerType('Execution');
const COMPOSITION_INFO = routerType('CompositionInfo');

class TuttiClient {
  /**
   * @param {string} router "host:port"
   * @param {{credentials?: grpc.ChannelCredentials, channelOptions?: object, timeoutMs?: number}} [options]
   */
  constructor(router, options = {}) {
    this.router = router;
    this._timeoutMs = timeout(options.timeoutMs, DEFAULT_TIMEOUT_MS);
    const credentials = options.credentials || grpc.credentials.createInsecure();
    this._stub = new RouterClient(router, credentials, options.channelOptions || {});
    /** @type {Map<string, CompositionTypes>} what ListCompositions last said, by composition */
    this._types = new Map();
  }

  /**
   * What the router serves, and with which types (the descriptors left out).
   * @param {{timeoutMs?: number}} [options]
   */
  async listCompositions(options = {}) {
    const listing = await this._listing(this._deadline(options));
    return listing.map((info) => {
      const plain = COMPOSITION_INFO.toObject(info, PLAIN);
      delete plain.descriptors;
      return plain;
    });
  }

  /**
   * Run one input through a composition.
   * @param {string} composition
   * @param {object} input the fields of the composition's input type
   * @param {{timeoutMs?: number, maxCostUsd?: number, noCache?: boolean}} [options]
   * @returns {Promise<{output: object, outputType: string, execution: object}>}
   */
  async route(composition, input, options = {}) {
    const deadline = this._deadline(options);
    const types = await this._typesOf(composition, deadline);
    const request = routeRequest(composition, types, input, options);
    const response = await new Promise((resolve, reject) => {
      this._stub.Route(request, { deadline }, (err, value) =>
        err ? reject(fromGrpcError(err)) : resolve(value),
      );
    });
    return routed(types, response);
  }

  /**
   * Run one input and stream the text of the stage that answers last, as it is generated.
   *
   *     const stream = client.routeCompletion('reply', { text: 'Say hello.' });
   *     for await (const text of stream) process.stdout.write(text);
   *     const { output, execution } = await stream.response;
   *
   * The iterator yields strings and ends when the router sends the response;
   * `stream.response` resolves to what `route` returns once it has. A failure
   * after some text throws from the loop (and rejects `response`): discard that text.
   * Leaving the loop early, or `cancel()`, stops the generation (`response` rejects, CANCELLED).
   * @param {string} composition
   * @param {object} input
   * @param {{timeoutMs?: number, maxCostUsd?: number, noCache?: boolean}} [options]
   * @returns {AsyncIterableIterator<string> & {response: Promise<{output: object, outputType: string, execution: object}>, cancel(): void}}
   */
  routeCompletion(composition, input, options = {}) {
    const deadline = this._deadline(options);
    let settle;
    const response = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A caller who only iterates must not meet an unhandled rejection.
    response.catch(() => {});
    let call = null;
    let cancelled = false;
    const client = this;
    async function* texts() {
      try {
        const types = await client._typesOf(composition, deadline);
        if (cancelled) throw new TuttiError(grpc.status.CANCELLED, 'cancelled by the caller');
        call = client._stub.RouteCompletion(routeRequest(composition, types, input, options), { deadline });
        let final = null;
        for await (const event of call) {
          if (final !== null) throw new TuttiError(grpc.status.INTERNAL, 'the router sent text after the response');
          if (event.event === 'response') final = routed(types, event.response);
          else yield event.delta;
        }
        if (final === null) throw new TuttiError(grpc.status.INTERNAL, 'the stream ended without a response');
        settle.resolve(final);
      } catch (err) {
        const error = fromGrpcError(err);
        settle.reject(error);
        throw error;
      } finally {
        // Leaving the loop early (break, or a throw in its body) stops the generation.
        if (call !== null) call.cancel();
        settle.reject(new TuttiError(grpc.status.CANCELLED, 'the caller stopped reading the stream'));
      }
    }
    const stream = texts();
    stream.response = response;
    stream.cancel = () => {
      cancelled = true;
      if (call !== null) call.cancel();
    };
    return stream;
  }

  /** Close the channel; calls in flight fail with CANCELLED. */
  close() {
    this._stub.close();
  }

  _deadline(options) {
    return new Date(Date.now() + timeout(options.timeoutMs, this._timeoutMs));
  }

  async _listing(deadline) {
    const listing = await new Promise((resolve, reject) => {
      this._stub.ListCompositions({}, { deadline }, (err, value) =>
        err ? reject(fromGrpcError(err)) : resolve(value),
      );
    });
    this._types = new Map(listing.compositions.map((info) => [info.name, new CompositionTypes(info)]));
    return listing.compositions;
  }

  // The types are learned once per composition; a name not (yet) known asks the router again.
  async _typesOf(composition, deadline) {
    if (!this._types.has(composition)) await this._listing(deadline);
    const types = this._types.get(composition);
    if (types === undefined) {
      const served = [...this._types.keys()].join(', ') || 'nothing';
      throw new NotFoundError(`composition '${composition}' is not served by ${this.router}; it serves: ${served}`);
    }
    return types;
  }
}

function routeRequest(composition, types, input, options) {
  const request = { composition, input: types.pack(input) };
  if (options.maxCostUsd !== undefined || options.noCache !== undefined) {
    const maxCost = options.maxCostUsd === undefined ? 0 : options.maxCostUsd;
    if (typeof maxCost !== 'number' || !(maxCost >= 0)) {
      throw new RangeError(`maxCostUsd must be a number of USD, 0 or more, not ${maxCost}`);
    }
    request.options = { max_cost_usd: maxCost, no_cache: Boolean(options.noCache) };
  }
  return request;
}

function routed(types, response) {
  return {
    output: types.unpack(response.output),
    outputType: types.outputTypeName,
    execution: response.execution ? EXECUTION.toObject(response.execution, PLAIN) : {},
  };
}

function timeout(value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new RangeError(`timeoutMs must be a positive number of milliseconds, not ${value}`);
  }
  return value;
}

/**
 * A client of the router at `router` ("host:port"); nothing is sent before the first call.
 * @param {string} router
 * @param {{credentials?: grpc.ChannelCredentials, channelOptions?: object, timeoutMs?: number}} [options]
 */
function connect(router, options) {
  return new TuttiClient(router, options);
}

module.exports = { connect, TuttiClient };
