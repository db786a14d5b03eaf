"""Message types a user might bring, built with descriptor_pb2 into a pool of their own:
enums, ints and bools to label by, two labels as deep, and a type that holds itself."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

_F = descriptor_pb2.FieldDescriptorProto
PACKAGE = "tests.dataset.v1"


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(
        name="tests/dataset/v1/user.proto", package=PACKAGE, syntax="proto3"
    )
    priority = file.enum_type.add(name="Priority")
    for number, name in enumerate(("PRIORITY_UNSPECIFIED", "PRIORITY_LOW", "PRIORITY_HIGH")):
        priority.value.add(name=name, number=number)

    def message(name: str, *fields: tuple[str, int, str]) -> None:
        """Fields as (name, type, type name); a name ending in [] is a repeated field."""
        built = file.message_type.add(name=name)
        for number, (field_name, kind, type_name) in enumerate(fields, start=1):
            added = built.field.add(
                name=field_name.removesuffix("[]"),
                number=number,
                type=kind,
                label=_F.LABEL_REPEATED if field_name.endswith("[]") else _F.LABEL_OPTIONAL,
            )
            if type_name:
                added.type_name = type_name

    enum = f".{PACKAGE}.Priority"
    message(
        "Request",
        ("body", _F.TYPE_STRING, ""),
        ("count", _F.TYPE_INT32, ""),
        ("urgent", _F.TYPE_BOOL, ""),
        ("priority", _F.TYPE_ENUM, enum),
        ("score", _F.TYPE_DOUBLE, ""),
    )
    message("Inner", ("label", _F.TYPE_STRING, ""), ("confidence", _F.TYPE_DOUBLE, ""))
    message(
        "Verdict",
        ("priority", _F.TYPE_ENUM, enum),
        ("spam", _F.TYPE_BOOL, ""),
        ("code", _F.TYPE_INT64, ""),
        ("tags[]", _F.TYPE_STRING, ""),
        ("first", _F.TYPE_MESSAGE, f".{PACKAGE}.Inner"),
        ("second", _F.TYPE_MESSAGE, f".{PACKAGE}.Inner"),
        ("items[]", _F.TYPE_MESSAGE, f".{PACKAGE}.Inner"),
    )
    message("Node", ("child", _F.TYPE_MESSAGE, f".{PACKAGE}.Node"), ("name", _F.TYPE_STRING, ""))
    message("Numbers", ("count", _F.TYPE_INT32, ""), ("score", _F.TYPE_DOUBLE, ""))
    message("Pair", ("title", _F.TYPE_STRING, ""), ("body", _F.TYPE_STRING, ""))
    message("Doc", ("lang", _F.TYPE_STRING, ""), ("text", _F.TYPE_STRING, ""))
    message("Envelope", ("doc", _F.TYPE_MESSAGE, f".{PACKAGE}.Doc"), ("note", _F.TYPE_STRING, ""))
    return file


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())


def descriptor(name: str) -> Descriptor:
    return _POOL.FindMessageTypeByName(f"{PACKAGE}.{name}")


def new(name: str) -> Message:
    return message_factory.GetMessageClass(descriptor(name))()
