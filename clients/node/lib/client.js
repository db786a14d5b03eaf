// A connection to one Tutti router: list its compositions, route plain objects, stream completions.
'use strict';

const grpc = require('@grpc/grpc-js');
const { RouterClient, routerType } = require('./router');
const { CompositionTypes, PLAIN } = require('./types');
const { CompletionStream } = require('./completion');
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
   * The call starts at once, as `route`'s does, and runs whether or not the stream is read:
   * text not yet read waits in the stream, and `stream.response` resolves to what `route`
   * returns as soon as the router has answered (awaiting it alone is a `route` whose text is
   * left unread). The iterator yields strings and ends after the response. A failure rejects
   * `response` and, after the text that came before it, throws from the loop: discard that text.
   * Leaving the loop early, or `cancel()` (before or while reading), stops the generation:
   * `response` rejects, CANCELLED, unless the router had already answered.
   * @param {string} composition
   * @param {object} input
   * @param {{timeoutMs?: number, maxCostUsd?: number, noCache?: boolean}} [options]
   * @returns {AsyncIterableIterator<string> & {response: Promise<{output: object, outputType: string, execution: object}>, cancel(): void}}
   */
  routeCompletion(composition, input, options = {}) {
    const deadline = this._deadline(options);
    const stream = new CompletionStream();
    this._complete(stream, composition, input, options, deadline).catch((err) => stream._failed(fromGrpcError(err)));
    return stream;
  }

  async _complete(stream, composition, input, options, deadline) {
    const types = await this._typesOf(composition, deadline);
    // cancel() while the types were being learned: nothing is sent.
    if (stream.ended) return;
    const call = this._stub.RouteCompletion(routeRequest(composition, types, input, options), { deadline });
    stream._started(call);
    let final = null;
    for await (const event of call) {
      if (stream.ended) return;
      if (final !== null) throw new TuttiError(grpc.status.INTERNAL, 'the router sent text after the response');
      if (event.event === 'response') final = routed(types, event.response);
      else stream._text(event.delta);
    }
    if (final === null) throw new TuttiError(grpc.status.INTERNAL, 'the stream ended without a response');
    stream._answered(final);
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
