// @tutti/client: call a Tutti router from Node.js with plain objects, for any composition's types.
//
//   const tutti = require('@tutti/client');
//   const client = tutti.connect('127.0.0.1:50051');
//   const { output, execution } = await client.route('quickstart', { text: 'I forgot my password' });
//   client.close();
'use strict';

const { connect, TuttiClient } = require('./client');
const errors = require('./errors');

module.exports = {
  connect,
  TuttiClient,
  TuttiError: errors.TuttiError,
  InvalidArgumentError: errors.InvalidArgumentError,
  NotFoundError: errors.NotFoundError,
  DeadlineExceededError: errors.DeadlineExceededError,
  ResourceExhaustedError: errors.ResourceExhaustedError,
  UnavailableError: errors.UnavailableError,
};
