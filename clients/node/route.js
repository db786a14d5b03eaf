#!/usr/bin/env node
// Route one input through a Tutti composition from Node.js.
//
//   node route.js --router 127.0.0.1:50051 --composition support-desk \
//       --descriptors tutti.binpb --input-type tutti.support.v1.Ticket \
//       --json '{"text": "I lost my card"}'
//
// The message types come from a FileDescriptorSet (`--descriptors`), written
// by `python protos/generate.py --image FILE`: the protos import
// buf/validate/validate.proto, which the repository does not keep as text, so
// proto-loader cannot parse protos/ itself. The set holds every proto with
// its imports, validate.proto included. See README.md.
//
// Prints {"output": {...}, "execution": {...}} as JSON on stdout. On a gRPC
// error prints `error: CODE: details` on stderr and exits 1.
'use strict';

const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const USAGE = `usage: node route.js --router HOST:PORT --composition NAME --descriptors FILE
                     [--input-type TYPE] [--json '{...}' | --text TEXT] [--timeout-ms MS]

  --router        the router's address (plaintext)
  --composition   the composition to run
  --descriptors   a FileDescriptorSet of Tutti's protos (python protos/generate.py --image FILE);
                  defaults to $TUTTI_DESCRIPTORS
  --input-type    the input message's full name; defaults to the composition's input type
  --json          the input message's fields as JSON (proto field names)
  --text          shorthand for --json '{"text": TEXT}'
  --timeout-ms    deadline of each call (default 10000)`;

const TYPE_PREFIX = 'type.googleapis.com/';
// Field names as in the .proto, enums by name, 64-bit integers as strings,
// unset scalars printed with their defaults.
const LOAD_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { timeoutMs: 10000, descriptors: process.env.TUTTI_DESCRIPTORS };
  const names = {
    '--router': 'router',
    '--composition': 'composition',
    '--descriptors': 'descriptors',
    '--input-type': 'inputType',
    '--json': 'json',
    '--text': 'text',
    '--timeout-ms': 'timeoutMs',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '-h' || flag === '--help') {
      console.log(USAGE);
      process.exit(0);
    }
    const key = names[flag];
    if (key === undefined) throw new UsageError(`unknown argument ${flag}`);
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    args[key] = argv[++i];
  }
  for (const required of ['router', 'composition', 'descriptors']) {
    if (!args[required]) throw new UsageError(`--${required} is required`);
  }
  if (args.json !== undefined && args.text !== undefined) {
    throw new UsageError('give --json or --text, not both');
  }
  if (args.json === undefined && args.text === undefined) {
    throw new UsageError('give the input as --json or --text');
  }
  args.timeoutMs = Number(args.timeoutMs);
  if (!(args.timeoutMs > 0)) throw new UsageError('--timeout-ms must be a positive number');
  return args;
}

function loadTypes(file) {
  const buffer = fs.readFileSync(file);
  return protoLoader.loadFileDescriptorSetFromBuffer(buffer, LOAD_OPTIONS);
}

function messageType(definitions, name) {
  const type = definitions[name];
  if (!type || typeof type.serialize !== 'function') {
    throw new UsageError(`no message type ${name} in the descriptor set`);
  }
  return type;
}

function unary(client, method, request, timeoutMs) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + timeoutMs);
    client[method](request, { deadline }, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

// Every message type in the set by full name, nested ones (map entries included) too.
function indexTypes(definitions) {
  const types = new Map();
  const add = (name, descriptor) => {
    types.set(name, descriptor);
    for (const nested of descriptor.nestedType || []) add(`${name}.${nested.name}`, nested);
  };
  for (const [name, definition] of Object.entries(definitions)) {
    if (definition.type && Array.isArray(definition.type.field)) add(name, definition.type);
  }
  return types;
}

// A field's type name, which protobufjs writes relative to the message's scope.
function resolveType(types, scope, name) {
  if (name.startsWith('.')) return name.slice(1);
  for (let parts = scope.split('.'); parts.length > 0; parts.pop()) {
    const candidate = `${parts.join('.')}.${name}`;
    if (types.has(candidate)) return candidate;
  }
  if (types.has(name)) return name;
  throw new Error(`cannot resolve ${name} from ${scope}`);
}

// Types loaded from descriptors keep map fields as repeated `{key, value}`
// entries (the wire form; see protobufjs' ext/descriptor). These convert
// between that and JSON objects, recursively, and refuse unknown fields.
function convertMaps(types, typeName, message, toEntries) {
  const descriptor = types.get(typeName);
  if (!descriptor || message === null || typeof message !== 'object') return message;
  if (typeName === 'google.protobuf.Any') return message;
  const fields = new Map(descriptor.field.map((f) => [f.name, f]));
  if (toEntries) {
    for (const key of Object.keys(message)) {
      if (!fields.has(key)) throw new UsageError(`${typeName} has no field ${key}`);
    }
  }
  const result = { ...message };
  for (const field of fields.values()) {
    const value = message[field.name];
    if (value === undefined || value === null || field.type !== 'TYPE_MESSAGE') continue;
    const target = resolveType(types, typeName, field.typeName);
    const entry = types.get(target);
    // A map entry is a type nested in this message; protobufjs also marks the
    // message holding a map as map_entry, so the option alone is not enough.
    const isMap =
      field.label === 'LABEL_REPEATED' &&
      target.startsWith(`${typeName}.`) &&
      entry && entry.options && entry.options.mapEntry;
    if (isMap) {
      const valueField = entry.field.find((f) => f.name === 'value');
      const valueType =
        valueField.type === 'TYPE_MESSAGE' ? resolveType(types, target, valueField.typeName) : null;
      const convert = (v) => (valueType ? convertMaps(types, valueType, v, toEntries) : v);
      if (toEntries) {
        result[field.name] = Object.entries(value).map(([k, v]) => ({ key: k, value: convert(v) }));
      } else {
        result[field.name] = Object.fromEntries(value.map((e) => [e.key, convert(e.value)]));
      }
    } else if (field.label === 'LABEL_REPEATED') {
      result[field.name] = value.map((v) => convertMaps(types, target, v, toEntries));
    } else {
      result[field.name] = convertMaps(types, target, value, toEntries);
    }
  }
  return result;
}

function pack(definitions, types, typeName, fields) {
  const wire = convertMaps(types, typeName, fields, true);
  return { type_url: TYPE_PREFIX + typeName, value: messageType(definitions, typeName).serialize(wire) };
}

function unpack(definitions, types, any, declared) {
  const fromUrl = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const name = declared || fromUrl;
  if (declared && fromUrl && fromUrl !== declared) {
    throw new Error(`the output is a ${fromUrl}, not the declared ${declared}`);
  }
  return convertMaps(types, name, messageType(definitions, name).deserialize(any.value), false);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const definitions = loadTypes(args.descriptors);
  const types = indexTypes(definitions);
  const Router = grpc.loadPackageDefinition(definitions).tutti.v1.RouterService;
  const client = new Router(args.router, grpc.credentials.createInsecure());
  try {
    // The composition's declared types; an unknown composition is left to Route to report.
    const listing = await unary(client, 'ListCompositions', {}, args.timeoutMs);
    const info = listing.compositions.find((c) => c.name === args.composition);
    if (!info && !args.inputType) {
      // Nothing to pack the input as; report what Route would.
      const served = listing.compositions.map((c) => c.name).join(', ') || 'nothing';
      throw Object.assign(new Error(), {
        code: grpc.status.NOT_FOUND,
        details: `composition '${args.composition}' not listed by ${args.router}; it serves: ${served}`,
      });
    }
    const inputType = args.inputType || info.input_type;
    let fields;
    if (args.text !== undefined) {
      fields = { text: args.text };
    } else {
      try {
        fields = JSON.parse(args.json);
      } catch (e) {
        throw new UsageError(`--json is not JSON: ${e.message}`);
      }
    }
    messageType(definitions, inputType);
    const input = pack(definitions, types, inputType, fields);
    const response = await unary(
      client,
      'Route',
      { composition: args.composition, input },
      args.timeoutMs,
    );
    const output = unpack(definitions, types, response.output, info && info.output_type);
    const execution = response.execution || {};
    const result = {
      output,
      output_type: (info && info.output_type) || response.output.type_url.slice(TYPE_PREFIX.length),
      execution: {
        composition: execution.composition,
        stages: execution.stages,
        path: execution.path,
        total_cost_usd: execution.total_cost_usd,
        latency_ms: execution.latency_ms,
      },
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    client.close();
  }
}

module.exports = { loadTypes, indexTypes, pack, unpack };

if (require.main !== module) return;

main().catch((err) => {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (err && typeof err.code === 'number' && grpc.status[err.code] !== undefined) {
    process.stderr.write(`error: ${grpc.status[err.code]}: ${err.details}\n`);
  } else {
    process.stderr.write(`error: ${err && err.message ? err.message : err}\n`);
  }
  process.exitCode = 1;
});
