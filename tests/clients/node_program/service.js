// A Node program that uses @tutti/client as a user's service would: required by the
// package's path, plain objects in and out. Run by tests/clients/test_node_library.py:
//
//   node service.js PACKAGE_DIR ROUTER SCENARIO
//
// Prints one JSON object of what it saw; exits 1 on anything unexpected.
'use strict';

const [packageDir, router, scenario] = process.argv.slice(2);
const tutti = require(packageDir);

// A ticket with an enum, a nested message (with an int64) and a repeated field.
const TICKET = {
  subject: 'Refund please',
  body: 'I was charged twice for one invoice',
  urgency: 'URGENCY_HIGH',
  customer: { id: 'c-7', orders: 12 },
  tags: ['vip', 'eu'],
};

function described(err) {
  return {
    class: err.constructor.name,
    isTuttiError: err instanceof tutti.TuttiError,
    code: err.code,
    codeName: err.codeName,
    details: err.details,
    field: err.field === undefined ? null : err.field,
  };
}

async function failure(call) {
  try {
    await call();
  } catch (err) {
    return described(err);
  }
  throw new Error('the call succeeded');
}

// A promise that must settle: a hang fails the program with what hung, not the test's timeout.
function within(ms, what, promise) {
  let timer;
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

async function readAll(stream) {
  const chunks = [];
  for await (const text of stream) chunks.push(text);
  return chunks;
}

const SCENARIOS = {
  async ticket(client) {
    return client.route('acme-tickets', TICKET);
  },

  async list(client) {
    return client.listCompositions();
  },

  async errors(client) {
    const unreachable = tutti.connect('127.0.0.1:1', { timeoutMs: 5000 });
    try {
      return {
        unknownComposition: await failure(() => client.route('no-such-composition', TICKET)),
        unknownField: await failure(() => client.route('acme-tickets', { ...TICKET, subjct: 'typo' })),
        unknownNestedField: await failure(() =>
          client.route('acme-tickets', { ...TICKET, customer: { id: 'c-7', idd: 'x' } }),
        ),
        unknownEnumValue: await failure(() => client.route('acme-tickets', { ...TICKET, urgency: 'URGENT' })),
        wrongScalar: await failure(() =>
          client.route('acme-tickets', { ...TICKET, customer: { orders: 'many' } }),
        ),
        // The model writes twelve tokens: far more than 20 ms of work on any CPU.
        deadline: await failure(() => client.route('reply', { text: 'Tell a long story.' }, { timeoutMs: 20 })),
        unreachableRouter: await failure(() => unreachable.route('acme-tickets', TICKET)),
      };
    } finally {
      unreachable.close();
    }
  },

  async stream(client) {
    const stream = client.routeCompletion('reply', { text: 'Say hello.' }, { timeoutMs: 90000 });
    const chunks = [];
    for await (const text of stream) chunks.push(text);
    const response = await stream.response;
    // Leaving early stops the generation and rejects the response.
    const left = client.routeCompletion('reply', { text: 'Count to ten.' }, { timeoutMs: 90000 });
    const firstOfLeft = [];
    for await (const text of left) {
      firstOfLeft.push(text);
      break;
    }
    const leftResponse = await failure(() => left.response);
    return { chunks, response, firstOfLeft, leftResponse };
  },

  // Streams nobody iterates: awaiting the response alone, and cancelling before reading.
  async unread(client) {
    const awaited = client.routeCompletion('reply', { text: 'Say hello.' }, { timeoutMs: 90000 });
    const response = await within(120000, 'the response of a stream nobody read', awaited.response);
    // The text was kept: reading after the response still yields all of it.
    const chunksAfter = await within(10000, 'reading a finished stream', readAll(awaited));
    const cancelled = client.routeCompletion('reply', { text: 'Count to ten.' }, { timeoutMs: 90000 });
    cancelled.cancel();
    const cancelledResponse = await within(10000, 'the response of a cancelled stream', failure(() => cancelled.response));
    const cancelledRead = await within(10000, 'reading a cancelled stream', failure(() => readAll(cancelled)));
    return { response, chunksAfter, cancelledResponse, cancelledRead };
  },
};

async function main() {
  const run = SCENARIOS[scenario];
  if (run === undefined) throw new Error(`no scenario ${scenario}; one of ${Object.keys(SCENARIOS)}`);
  const client = tutti.connect(router, { timeoutMs: 20000 });
  try {
    process.stdout.write(JSON.stringify(await run(client)) + '\n');
  } finally {
    client.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
