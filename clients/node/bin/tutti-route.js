#!/usr/bin/env node
// tutti-route: route one input through a Tutti composition from the command line (@tutti/client).
'use strict';

const tutti = require('..');

const USAGE = `usage: tutti-route --router HOST:PORT --composition NAME (--text TEXT | --json '{...}')
                   [--stream] [--timeout-ms MS] [--max-cost-usd USD] [--no-cache] [--input-type TYPE]
       tutti-route --router HOST:PORT --list

Sends one input to a composition served by a Tutti router and prints the output
and the record of what ran as JSON. The composition's types come from the router
(ListCompositions), so any composition works without proto files.

  --router HOST:PORT   the router's address (plaintext); defaults to $TUTTI_ROUTER
  --composition NAME   the composition to run
  --text TEXT          the input {"text": TEXT}, for compositions that take a tutti.v1.Text
  --json '{...}'       the input message's fields as JSON, with the .proto field names;
                       enums by name, 64-bit integers as numbers or strings, maps as objects
  --stream             print the text of the stage that answers last as it is generated
                       (RouteCompletion), instead of the JSON at the end
  --timeout-ms MS      the deadline of the call (default 10000)
  --max-cost-usd USD   a cost cap for this request (default: the composition's own)
  --no-cache           skip the stage result cache
  --input-type TYPE    fail unless the composition takes this type (a check; the router's
                       listing decides the type)
  --list               print the compositions the router serves, with their types
  -h, --help           this text

Prints {"output": {...}, "output_type": "...", "execution": {...}}. Exit status: 0 on
success; 1 on an error from the router, printed as "error: CODE: details" on stderr
(e.g. "error: NOT_FOUND: composition 'nope' is not served by ..."); 2 on bad arguments,
including an input field the composition's input type does not have.

Examples:
  tutti-route --router 127.0.0.1:50051 --composition quickstart --text "I forgot my password"
  tutti-route --router 127.0.0.1:50051 --composition support-desk --json '{"text": "My card is late"}'`;

class UsageError extends Error {}

const VALUED = {
  '--router': 'router',
  '--composition': 'composition',
  '--text': 'text',
  '--json': 'json',
  '--timeout-ms': 'timeoutMs',
  '--max-cost-usd': 'maxCostUsd',
  '--input-type': 'inputType',
};
const SWITCHES = { '--stream': 'stream', '--no-cache': 'noCache', '--list': 'list' };

function parseArgs(argv) {
  const args = { router: process.env.TUTTI_ROUTER, timeoutMs: '10000' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '-h' || flag === '--help') return { help: true };
    if (SWITCHES[flag] !== undefined) {
      args[SWITCHES[flag]] = true;
      continue;
    }
    const key = VALUED[flag];
    if (key === undefined) {
      const hint = flag === '--descriptors' ? ' (no longer needed: the types come from the router)' : '';
      throw new UsageError(`unknown argument ${flag}${hint}`);
    }
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    args[key] = argv[++i];
  }
  if (!args.router) throw new UsageError('--router is required (or set $TUTTI_ROUTER)');
  args.timeoutMs = positive(args.timeoutMs, '--timeout-ms');
  if (args.maxCostUsd !== undefined) args.maxCostUsd = positive(args.maxCostUsd, '--max-cost-usd', true);
  if (args.list) return args;
  if (!args.composition) throw new UsageError('--composition is required');
  if (args.json !== undefined && args.text !== undefined) throw new UsageError('give --json or --text, not both');
  if (args.json === undefined && args.text === undefined) throw new UsageError('give the input as --json or --text');
  if (args.text !== undefined) {
    args.input = { text: args.text };
  } else {
    try {
      args.input = JSON.parse(args.json);
    } catch (e) {
      throw new UsageError(`--json is not JSON: ${e.message}`);
    }
  }
  return args;
}

function positive(text, flag, zeroToo = false) {
  const value = Number(text);
  if (!(zeroToo ? value >= 0 : value > 0)) throw new UsageError(`${flag} must be a ${zeroToo ? 'non-negative' : 'positive'} number`);
  return value;
}

function print(value) {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

async function run(args) {
  const client = tutti.connect(args.router, { timeoutMs: args.timeoutMs });
  try {
    if (args.list) {
      print(await client.listCompositions());
      return;
    }
    if (args.inputType !== undefined) {
      const listed = (await client.listCompositions()).find((c) => c.name === args.composition);
      if (listed && listed.input_type !== args.inputType) {
        throw new UsageError(`composition '${args.composition}' takes a ${listed.input_type}, not a ${args.inputType}`);
      }
    }
    const options = { noCache: args.noCache, maxCostUsd: args.maxCostUsd };
    if (args.stream) {
      const stream = client.routeCompletion(args.composition, args.input, options);
      for await (const text of stream) process.stdout.write(text);
      process.stdout.write('\n');
      return;
    }
    const { output, outputType, execution } = await client.route(args.composition, args.input, options);
    print({ output, output_type: outputType, execution });
  } finally {
    client.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  await run(args);
}

main().catch((err) => {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (err instanceof tutti.TuttiError) {
    process.stderr.write(`error: ${err.codeName}: ${err.details}\n`);
    // A field the client refused before sending is a bad argument, not the router's answer.
    process.exitCode = err instanceof tutti.InvalidArgumentError && err.field !== undefined ? 2 : 1;
  } else {
    process.stderr.write(`error: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 1;
  }
});
