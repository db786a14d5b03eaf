"""Message types by full name: packing, unpacking, descriptors and validation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any as AnyType

import protovalidate
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message, message_factory

from tutti.errors import OutputValidationError, PayloadTypeError, RequestError, echoed

# Importing the generated modules registers Tutti's own types in the default pool. Domain
# types (the support desk's among them) are a composition's `imports:`, not the core's.
from tutti.v1 import merger_pb2 as _merger_pb2  # noqa: F401
from tutti.v1 import payloads_pb2 as _payloads_pb2  # noqa: F401
from tutti.v1 import router_pb2 as _router_pb2  # noqa: F401
from tutti.v1 import stage_pb2 as _stage_pb2  # noqa: F401

__all__ = [
    "CLASSIFICATION",
    "COMPLETION",
    "TYPE_URL_PREFIX",
    "MessageTypes",
    "field_path",
    "follow_to_classification",
    "pack",
    "type_name_of",
    "validate_input",
    "validate_output",
]

TYPE_URL_PREFIX = "type.googleapis.com/"

_validator = protovalidate.Validator()


def type_name_of(payload: any_pb2.Any) -> str:
    """The full message name an Any says it holds."""
    return payload.type_url.rpartition("/")[2]


class MessageTypes:
    """Resolves full type names to message classes.

    Tutti's own types and anything a service imported come from the default
    pool; types learnt from a live stage's Describe go into a pool of their own.
    """

    def __init__(self) -> None:
        self._default = descriptor_pool.Default()
        self._learnt = descriptor_pool.DescriptorPool()
        self._classes: dict[str, type[message.Message]] = {}

    def _find(self, full_name: str) -> AnyType:
        for pool in (self._default, self._learnt):
            try:
                return pool.FindMessageTypeByName(full_name)
            except KeyError:
                continue
        return None

    def knows(self, full_name: str) -> bool:
        return full_name in self._classes or self._find(full_name) is not None

    def message_class(self, full_name: str) -> type[message.Message]:
        cls = self._classes.get(full_name)
        if cls is None:
            descriptor = self._find(full_name)
            if descriptor is None:
                raise KeyError(full_name)
            cls = message_factory.GetMessageClass(descriptor)
            self._classes[full_name] = cls
        return cls

    def learn(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        """Add the types of a FileDescriptorSet the default pool does not have."""
        pending = {f.name: f for f in files.file}
        added: set[str] = set()

        def known(name: str) -> bool:
            if name in added:
                return True
            for pool in (self._default, self._learnt):
                try:
                    pool.FindFileByName(name)
                    return True
                except KeyError:
                    continue
            return False

        def add(name: str) -> None:
            if known(name):
                return
            proto = pending[name]
            for dependency in proto.dependency:
                if dependency in pending:
                    add(dependency)
                elif not known(dependency):
                    raise KeyError(f"{name} imports {dependency}, which the set lacks")
            if not known(name):
                # Dependencies that live in the default pool must be visible here too.
                for dependency in proto.dependency:
                    self._copy_from_default(dependency)
                self._learnt.Add(proto)
            added.add(name)

        for name in pending:
            add(name)

    def _copy_from_default(self, name: str) -> None:
        try:
            self._learnt.FindFileByName(name)
            return
        except KeyError:
            pass
        file = self._default.FindFileByName(name)
        for dependency in file.dependencies:
            self._copy_from_default(dependency.name)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        self._learnt.Add(proto)

    def descriptor_set(self, full_names: Iterable[str]) -> descriptor_pb2.FileDescriptorSet:
        """The files defining these types and everything they import, dependencies first."""
        out = descriptor_pb2.FileDescriptorSet()
        seen: set[str] = set()

        def visit(file: AnyType) -> None:
            if file.name in seen:
                return
            seen.add(file.name)
            for dependency in file.dependencies:
                visit(dependency)
            file.CopyToProto(out.file.add())

        for name in full_names:
            descriptor = self._find(name)
            if descriptor is None:
                raise KeyError(name)
            visit(descriptor.file)
        return out

    def unpack(self, payload: any_pb2.Any, full_name: str, field: str) -> message.Message:
        """Decode `payload` as `full_name`, or say which field holds what instead."""
        if not payload.type_url:
            raise PayloadTypeError(field, f"is empty; expected a packed {full_name}")
        actual = type_name_of(payload)
        if actual != full_name:
            raise PayloadTypeError(field, f"holds {echoed(actual)}; expected {full_name}")
        msg = self.message_class(full_name)()
        try:
            msg.ParseFromString(payload.value)
        except message.DecodeError as exc:
            # protobuf's own text ("Error parsing message ... Wire format was corrupt") says
            # nothing more to the client than this does.
            raise PayloadTypeError(field, f"holds bytes that are not a valid {full_name}") from exc
        return msg


CLASSIFICATION = "tutti.v1.Classification"
COMPLETION = "tutti.v1.Completion"


def follow_to_classification(descriptor: AnyType, field: str) -> tuple[AnyType, int, str]:
    """Follow the dotted `field` from a message descriptor toward a single sub-message.

    Returns (the descriptor reached, the index of the part that stopped the
    walk or -1, why it stopped: "" | "missing" | "not a message" | "repeated"
    | "map"). The caller checks that what it reached is a Classification and
    words its own error; the compiler and the merger both read paths this way.
    """
    current = descriptor
    for index, part in enumerate(p for p in field.split(".") if p):
        found = current.fields_by_name.get(part)
        if found is None:
            return current, index, "missing"
        if found.message_type is None:
            return current, index, "not a message"
        if found.is_repeated:  # map fields are repeated too
            return (
                current,
                index,
                "map" if found.message_type.GetOptions().map_entry else "repeated",
            )
        current = found.message_type
    return current, -1, ""


def pack(msg: message.Message) -> any_pb2.Any:
    payload = any_pb2.Any()
    payload.Pack(msg)
    return payload


def field_path(violation: AnyType) -> str:
    """Render a protovalidate field path as `intent.scores["x"]`."""
    parts: list[str] = []
    for element in violation.proto.field.elements:
        part = element.field_name
        subscript = element.subscript
        if subscript is not None and subscript.field:
            value = subscript.value
            part += f'["{value}"]' if isinstance(value, str) else f"[{value}]"
        parts.append(part)
    return ".".join(parts) or "(message)"


def _first_violation(msg: message.Message) -> tuple[str, str] | None:
    violations = _validator.collect_violations(msg)
    if not violations:
        return None
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return field_path(first), f"{first.proto.message}{more}"


def validate_output(stage: str, msg: message.Message) -> None:
    """Raise OutputValidationError naming stage and field when `msg` breaks its constraints."""
    found = _first_violation(msg)
    if found is not None:
        raise OutputValidationError(stage, found[0], found[1])


def validate_input(msg: message.Message, prefix: str) -> None:
    """Raise RequestError naming the field when a client's message breaks its constraints."""
    found = _first_violation(msg)
    if found is not None:
        raise RequestError(f"{prefix}.{found[0]}", found[1])
