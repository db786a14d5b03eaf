// The stream `routeCompletion` returns: text chunks buffered as they arrive, and the response.
//
// The call runs whether or not anyone reads: the chunks wait in the stream until they are
// iterated, and `response` settles when the router answers (or fails), so a caller who only
// awaits `response` gets it. Reading is never what drives the call.
'use strict';

const { status } = require('@grpc/grpc-js');
const { TuttiError } = require('./errors');

class CompletionStream {
  constructor() {
    /** @type {string[]} text received and not yet read */
    this._chunks = [];
    /** @type {Array<{resolve: Function, reject: Function}>} reads waiting for text */
    this._reads = [];
    /** @type {null | {error: Error | null}} how the call ended (error null: with a response) */
    this._ended = null;
    /** @type {null | {cancel(): void}} the grpc-js call, once it is made */
    this._call = null;
    this._thrown = false;
    this.response = new Promise((resolve, reject) => {
      this._settle = { resolve, reject };
    });
    // A caller who only iterates must not meet an unhandled rejection.
    this.response.catch(() => {});
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** @returns {Promise<IteratorResult<string>>} */
  next() {
    if (this._chunks.length > 0) return Promise.resolve({ value: this._chunks.shift(), done: false });
    if (this._ended === null) return new Promise((resolve, reject) => this._reads.push({ resolve, reject }));
    return this._finished();
  }

  /** Leaving the loop early (break, or a throw in its body) stops the generation. */
  return(value) {
    this._stop(new TuttiError(status.CANCELLED, 'the caller stopped reading the stream'));
    this._chunks = [];
    this._thrown = true;
    return Promise.resolve({ value, done: true });
  }

  /** Stop the generation: `response` rejects, CANCELLED, unless the router had already answered. */
  cancel() {
    this._stop(new TuttiError(status.CANCELLED, 'cancelled by the caller'));
  }

  /** Whether the call has ended (answered, failed or stopped): nothing more is to be sent. */
  get ended() {
    return this._ended !== null;
  }

  /** The call was made; `cancel()` and leaving the loop reach it from now on. */
  _started(call) {
    this._call = call;
  }

  _text(text) {
    if (this._ended !== null) return;
    const read = this._reads.shift();
    if (read === undefined) this._chunks.push(text);
    else read.resolve({ value: text, done: false });
  }

  _answered(response) {
    if (this._ended !== null) return;
    this._ended = { error: null };
    this._settle.resolve(response);
    this._wake();
  }

  _failed(error) {
    if (this._ended !== null) return;
    this._ended = { error };
    this._settle.reject(error);
    this._wake();
  }

  _stop(error) {
    if (this._ended !== null) return;
    if (this._call !== null) this._call.cancel();
    this._failed(error);
  }

  // Reads waiting when the call ends: the buffer is empty (else they would not wait).
  _wake() {
    for (const read of this._reads.splice(0)) this._finished().then(read.resolve, read.reject);
  }

  // Once the text is read: the end, or the failure (thrown once, as a generator's would be).
  _finished() {
    const { error } = this._ended;
    if (error === null || this._thrown) return Promise.resolve({ value: undefined, done: true });
    this._thrown = true;
    return Promise.reject(error);
  }
}

module.exports = { CompletionStream };
