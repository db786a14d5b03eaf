// Message types from a google.protobuf.FileDescriptorSet, as protobufjs types.
'use strict';

const protobuf = require('protobufjs');
const descriptor = require('protobufjs/ext/descriptor');

/**
 * The types of a FileDescriptorSet (encoded bytes or a decoded message), resolved.
 *
 * protobufjs builds a map field from a descriptor as the repeated `{key, value}`
 * entry message it is on the wire; this turns each back into a map, so that
 * maps are plain objects in and out, as they are in the .proto.
 *
 * @param {Uint8Array | object} set
 * @returns {protobuf.Root}
 */
function rootFromDescriptorSet(set) {
  const decoded = set instanceof Uint8Array ? descriptor.FileDescriptorSet.decode(set) : set;
  const entries = mapEntries(decoded);
  const root = protobuf.Root.fromDescriptor(decoded);
  for (const type of allTypes(root)) {
    for (const field of [...type.fieldsArray]) {
      const entry = entries.get(field.type);
      if (!field.repeated || entry === undefined) continue;
      type.remove(field);
      type.add(new protobuf.MapField(field.name, field.id, entry.key, entry.value, field.options));
    }
  }
  for (const [name] of entries) {
    const entryType = root.lookup(name);
    if (entryType) entryType.parent.remove(entryType);
  }
  root.resolveAll();
  return root;
}

// Every map entry type of the set by its absolute name (".pkg.Message.FieldEntry"),
// with the protobufjs names of its key and value types.
function mapEntries(set) {
  const found = new Map();
  const visit = (scope, message) => {
    const name = `${scope}.${message.name}`;
    for (const nested of message.nestedType || []) {
      if (nested.options && nested.options.mapEntry) {
        const key = nested.field.find((f) => f.number === 1);
        const value = nested.field.find((f) => f.number === 2);
        found.set(`${name}.${nested.name}`, { key: fieldType(key), value: fieldType(value) });
      } else {
        visit(name, nested);
      }
    }
  };
  for (const file of set.file) {
    const scope = file.package ? `.${file.package}` : '';
    for (const message of file.messageType || []) visit(scope, message);
  }
  return found;
}

const SCALARS = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32',
  8: 'bool', 9: 'string', 12: 'bytes', 13: 'uint32', 15: 'sfixed32', 16: 'sfixed64',
  17: 'sint32', 18: 'sint64',
};

function fieldType(field) {
  return field.typeName ? field.typeName : SCALARS[field.type];
}

/** @returns {Generator<protobuf.Type>} every message type under `namespace`, nested ones too */
function* allTypes(namespace) {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) yield nested;
    if (nested instanceof protobuf.Namespace) yield* allTypes(nested);
  }
}

module.exports = { rootFromDescriptorSet, descriptor };
