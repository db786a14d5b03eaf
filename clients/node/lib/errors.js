// The errors a Tutti client throws, one class per gRPC status the router answers with.
//
//   TuttiError                 any other status (INTERNAL, CANCELLED, ...); `code`, `codeName`, `details`
//   ├── InvalidArgumentError   INVALID_ARGUMENT: a field the input type lacks, or a value it cannot
//   │                          hold (checked before sending; `field` names it), or the router's own
//   ├── NotFoundError          NOT_FOUND: a composition the router does not serve
//   ├── DeadlineExceededError  DEADLINE_EXCEEDED: the call's timeoutMs, or a stage's budget, ran out
//   ├── ResourceExhaustedError RESOURCE_EXHAUSTED: a cost cap, or an overloaded router
//   └── UnavailableError       UNAVAILABLE: the router (or a stage behind it) cannot be reached
'use strict';

const { status } = require('@grpc/grpc-js');

const CODE_NAMES = Object.fromEntries(
  Object.entries(status).filter(([, code]) => typeof code === 'number').map(([name, code]) => [code, name]),
);

class TuttiError extends Error {
  /**
   * @param {number} code the gRPC status code
   * @param {string} details the status message
   * @param {{metadata?: object, cause?: unknown}} [extra]
   */
  constructor(code, details, extra = {}) {
    const codeName = CODE_NAMES[code] || `CODE_${code}`;
    super(`${codeName}: ${details}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = new.target.name;
    /** the gRPC status code, e.g. 5 */
    this.code = code;
    /** the status code's name, e.g. "NOT_FOUND" */
    this.codeName = codeName;
    /** the status message the router sent (or the client's own, for checks made before sending) */
    this.details = details;
    /** the trailing metadata, as a plain object of arrays */
    this.metadata = extra.metadata || {};
  }
}

class InvalidArgumentError extends TuttiError {
  /**
   * @param {string} details
   * @param {{field?: string, metadata?: object, cause?: unknown}} [extra]
   */
  constructor(details, extra = {}) {
    super(status.INVALID_ARGUMENT, details, extra);
    /** the input field at fault ("customer.id"), when the client found it */
    this.field = extra.field;
  }
}

class NotFoundError extends TuttiError {
  constructor(details, extra) {
    super(status.NOT_FOUND, details, extra);
  }
}

class DeadlineExceededError extends TuttiError {
  constructor(details, extra) {
    super(status.DEADLINE_EXCEEDED, details, extra);
  }
}

class ResourceExhaustedError extends TuttiError {
  constructor(details, extra) {
    super(status.RESOURCE_EXHAUSTED, details, extra);
  }
}

class UnavailableError extends TuttiError {
  constructor(details, extra) {
    super(status.UNAVAILABLE, details, extra);
  }
}

const BY_CODE = new Map([
  [status.INVALID_ARGUMENT, InvalidArgumentError],
  [status.NOT_FOUND, NotFoundError],
  [status.DEADLINE_EXCEEDED, DeadlineExceededError],
  [status.RESOURCE_EXHAUSTED, ResourceExhaustedError],
  [status.UNAVAILABLE, UnavailableError],
]);

/**
 * The TuttiError for a failed grpc-js call (an error with a numeric `code`); anything else as is.
 * @param {any} err
 * @returns {Error}
 */
function fromGrpcError(err) {
  if (err instanceof TuttiError || !err || typeof err.code !== 'number') return err;
  const extra = { metadata: err.metadata ? err.metadata.getMap() : {}, cause: err };
  const details = err.details || err.message || '';
  const Class = BY_CODE.get(err.code);
  return Class ? new Class(details, extra) : new TuttiError(err.code, details, extra);
}

module.exports = {
  TuttiError,
  InvalidArgumentError,
  NotFoundError,
  DeadlineExceededError,
  ResourceExhaustedError,
  UnavailableError,
  fromGrpcError,
};
