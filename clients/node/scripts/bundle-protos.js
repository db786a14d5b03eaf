#!/usr/bin/env node
// Writes lib/tutti-v1.json, the router's own service and messages, from the repository's protos.
//
//   npm run protos                        # runs ../../protos/generate.py --image itself
//   node scripts/bundle-protos.js IMAGE [--out FILE]
//
// IMAGE is the FileDescriptorSet `python protos/generate.py --image IMAGE` writes.
// Only tutti/v1/router.proto and the google.protobuf files it uses are kept;
// buf/validate is dropped, since its rules are options the server checks and a
// client never reads. tests/clients/test_node_protos.py fails when the
// committed file differs from what this writes.
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { rootFromDescriptorSet, descriptor } = require('../lib/descriptors');

const ROUTER_PROTO = 'tutti/v1/router.proto';
const DROPPED = new Set(['buf/validate/validate.proto']);
const PACKAGE = path.resolve(__dirname, '..');
const REPOSITORY = path.resolve(PACKAGE, '..', '..');

function imageFromRepository() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tutti-protos-'));
  const image = path.join(dir, 'tutti.binpb');
  const venv = path.join(REPOSITORY, '.venv', 'bin', 'python');
  const python = process.env.PYTHON || (fs.existsSync(venv) ? venv : 'python3');
  execFileSync(python, [path.join(REPOSITORY, 'protos', 'generate.py'), '--image', image], {
    stdio: 'inherit',
  });
  return image;
}

/** The router's file and what it imports, without buf/validate or source info. */
function routerFiles(set) {
  const byName = new Map(set.file.map((f) => [f.name, f]));
  const kept = [];
  const keep = (name) => {
    if (DROPPED.has(name) || kept.some((f) => f.name === name)) return;
    const file = byName.get(name);
    if (file === undefined) throw new Error(`${name} is not in the image`);
    file.dependency.forEach(keep);
    file.dependency = file.dependency.filter((d) => !DROPPED.has(d));
    file.sourceCodeInfo = null;
    kept.push(file);
  };
  keep(ROUTER_PROTO);
  return descriptor.FileDescriptorSet.create({ file: kept });
}

function bundle(imagePath) {
  const set = descriptor.FileDescriptorSet.decode(fs.readFileSync(imagePath));
  const root = rootFromDescriptorSet(routerFiles(set));
  return JSON.stringify(root.toJSON(), null, 1) + '\n';
}

function main(argv) {
  let out = path.join(PACKAGE, 'lib', 'tutti-v1.json');
  let image;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i];
    else if (argv[i] === '-h' || argv[i] === '--help') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 12).join('\n') + '\n');
      return;
    } else image = argv[i];
  }
  fs.writeFileSync(out, bundle(image || imageFromRepository()));
}

main(process.argv.slice(2));
