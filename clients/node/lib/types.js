// One composition's input and output types, from the descriptors ListCompositions sends:
// plain objects checked and packed into google.protobuf.Any, outputs unpacked to plain objects.
'use strict';

const protobuf = require('protobufjs');
const { rootFromDescriptorSet } = require('./descriptors');
const { InvalidArgumentError, TuttiError } = require('./errors');

const TYPE_PREFIX = 'type.googleapis.com/';
// Field names as in the .proto, enums by name, 64-bit integers as strings (a JS
// number cannot hold them all), bytes as base64, unset fields with their defaults.
const PLAIN = { longs: String, enums: String, bytes: String, defaults: true, arrays: true, objects: true };
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

class CompositionTypes {
  /**
   * @param {{name: string, input_type: string, output_type: string, descriptors: object}} info
   *   a decoded tutti.v1.CompositionInfo
   */
  constructor(info) {
    this.composition = info.name;
    this.inputTypeName = info.input_type;
    this.outputTypeName = info.output_type;
    this._descriptors = info.descriptors;
    this._root = null;
  }

  // Built on first use: a router may list many compositions a client never calls.
  _type(name) {
    if (this._root === null) {
      // Encoded again by its own (snake_case) type: protobufjs' descriptor types name fields in camelCase.
      const bytes = this._descriptors.$type.encode(this._descriptors).finish();
      this._root = rootFromDescriptorSet(bytes);
    }
    const type = this._root.lookupTypeOrEnum(name);
    if (!(type instanceof protobuf.Type)) {
      throw new TuttiError(13, `the router's descriptors of '${this.composition}' lack ${name}`);
    }
    return type;
  }

  /**
   * The input as a google.protobuf.Any of the composition's input type.
   * @param {object} input the input message's fields
   * @returns {{type_url: string, value: Uint8Array}}
   */
  pack(input) {
    const type = this._type(this.inputTypeName);
    const message = type.fromObject(checkedFields(type, input, ''));
    return { type_url: TYPE_PREFIX + this.inputTypeName, value: type.encode(message).finish() };
  }

  /**
   * The output Any as a plain object of the composition's output type.
   * @param {{type_url: string, value: Uint8Array}} any
   */
  unpack(any) {
    const sent = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    if (sent !== this.outputTypeName) {
      throw new TuttiError(13, `'${this.composition}' answered a ${sent}, not its ${this.outputTypeName}`);
    }
    const type = this._type(sent);
    return type.toObject(type.decode(any.value), PLAIN);
  }
}

// The input's fields under their .proto names, each checked against its field; the
// first one that does not fit is an InvalidArgumentError naming it. protobufjs would
// drop an unknown field or an enum name it does not know without a word.
function checkedFields(type, value, at) {
  if (!isPlainObject(value)) {
    throw invalid(at, `${where(at)}a ${typeName(type)} must be an object of its fields`);
  }
  const fields = {};
  for (const [key, item] of Object.entries(value)) {
    const field = type.fields[key] || type.fieldsArray.find((f) => protobuf.util.camelCase(f.name) === key);
    const path = at ? `${at}.${key}` : key;
    if (field === undefined) {
      throw invalid(path, `${typeName(type)} has no field '${key}'${at ? ` (at ${path})` : ''}`);
    }
    if (item === null || item === undefined) continue;
    fields[field.name] = checkedField(field.resolve(), item, path);
  }
  return fields;
}

function checkedField(field, value, path) {
  if (field.map) {
    if (!isPlainObject(value)) throw invalid(path, `${path}: a map must be an object`);
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, checkedValue(field, v, `${path}.${k}`)]),
    );
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw invalid(path, `${path}: a repeated field must be an array`);
    return value.map((v, i) => checkedValue(field, v, `${path}[${i}]`));
  }
  return checkedValue(field, value, path);
}

function checkedValue(field, value, path) {
  const type = field.resolvedType;
  if (type instanceof protobuf.Type) {
    // An Any inside the input is protobufjs' to pack, by its "@type".
    return type.fullName === '.google.protobuf.Any' ? value : checkedFields(type, value, path);
  }
  const kind = `${typeName(field.parent)}.${field.name}`;
  if (type instanceof protobuf.Enum) {
    if ((typeof value === 'string' && value in type.values) || Number.isInteger(value)) return value;
    const names = Object.keys(type.values).join(', ');
    throw invalid(path, `${path}: ${JSON.stringify(value)} is not a ${typeName(type)} (${names})`);
  }
  if (fits(field.type, value)) return typeof value === 'bigint' ? value.toString() : value;
  throw invalid(path, `${path}: ${kind} is of type ${field.type}, not ${JSON.stringify(String(value))}`);
}

function fits(scalar, value) {
  if (scalar === 'string') return typeof value === 'string';
  if (scalar === 'bool') return typeof value === 'boolean';
  if (scalar === 'double' || scalar === 'float') return typeof value === 'number';
  if (INT32.has(scalar)) return Number.isInteger(value);
  if (INT64.has(scalar)) {
    return Number.isInteger(value) || typeof value === 'bigint' || (typeof value === 'string' && /^-?\d+$/.test(value));
  }
  if (scalar === 'bytes') return value instanceof Uint8Array || typeof value === 'string';
  return false;
}

function invalid(field, details) {
  return new InvalidArgumentError(details, { field });
}

function where(at) {
  return at ? `${at}: ` : '';
}

function typeName(type) {
  return type.fullName.replace(/^\./, '');
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

module.exports = { CompositionTypes, PLAIN, TYPE_PREFIX };
