// The router's gRPC service (tutti.v1.RouterService) as a grpc-js client class, from the
// descriptors shipped in this package (lib/tutti-v1.json, written by scripts/bundle-protos.js).
'use strict';

const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

const SERVICE = 'tutti.v1.RouterService';

const root = protobuf.Root.fromJSON(require('./tutti-v1.json'));
root.resolveAll();

/**
 * A grpc-js service definition of a protobufjs service: each method's path, streaming
 * and (de)serializers come from the descriptors, as generated stubs' would.
 * Requests go in as plain objects; responses come out as protobufjs messages.
 */
function serviceDefinition(service) {
  const definition = {};
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType;
    const response = method.resolvedResponseType;
    definition[method.name] = {
      path: `/${service.fullName.slice(1)}/${method.name}`,
      requestStream: Boolean(method.requestStream),
      responseStream: Boolean(method.responseStream),
      requestSerialize: (value) => Buffer.from(request.encode(request.fromObject(value)).finish()),
      requestDeserialize: (bytes) => request.decode(bytes),
      responseSerialize: (value) => Buffer.from(response.encode(value).finish()),
      responseDeserialize: (bytes) => response.decode(bytes),
      originalName: method.name,
    };
  }
  return definition;
}

const RouterClient = grpc.makeGenericClientConstructor(
  serviceDefinition(root.lookupService(SERVICE)),
  'RouterService',
);

/** @param {string} name e.g. "Execution" @returns {protobuf.Type} a tutti.v1 message type */
function routerType(name) {
  return root.lookupType(`tutti.v1.${name}`);
}

module.exports = { RouterClient, routerType };
