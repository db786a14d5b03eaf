"""Message types: learning unknown types from descriptors, packing and validation errors."""

from __future__ import annotations

import pytest
from google.protobuf import any_pb2, descriptor_pb2

from tutti.errors import OutputValidationError, PayloadTypeError, RequestError
from tutti.messages import MessageTypes, pack, validate_input, validate_output
from tutti.v1 import payloads_pb2


def _acme_file() -> descriptor_pb2.FileDescriptorSet:
    """A type no module of this process defines: acme.v1.Order, which imports tutti's payloads."""
    types = MessageTypes()
    files = types.descriptor_set(["tutti.v1.Classification"])
    order = files.file.add(name="acme/v1/order.proto", package="acme.v1", syntax="proto3")
    order.dependency.append("tutti/v1/payloads.proto")
    message = order.message_type.add(name="Order")
    message.field.add(
        name="id",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    message.field.add(
        name="intent",
        number=2,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".tutti.v1.Classification",
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    return files


def test_types_learnt_from_a_describe_become_usable_messages_that_are_still_validated() -> None:
    types = MessageTypes()
    assert not types.knows("acme.v1.Order")
    types.learn(_acme_file())
    assert types.knows("acme.v1.Order")
    order = types.message_class("acme.v1.Order")(id="42")
    order.intent.label = "refund"
    order.intent.confidence = 2.0
    with pytest.raises(OutputValidationError) as caught:
        validate_output("orders", order)
    assert caught.value.field == "intent.confidence"
    assert "stage 'orders'" in str(caught.value)
    # and the learnt type's descriptors can be handed on, with their imports
    names = [f.name for f in types.descriptor_set(["acme.v1.Order"]).file]
    assert names[-1] == "acme/v1/order.proto" and "tutti/v1/payloads.proto" in names


def test_unpack_names_the_field_for_a_wrong_or_empty_payload() -> None:
    types = MessageTypes()
    with pytest.raises(
        PayloadTypeError, match=r"^input: holds tutti.v1.Text; expected tutti.v1.Classification"
    ):
        types.unpack(pack(payloads_pb2.Text(text="x")), "tutti.v1.Classification", "input")
    with pytest.raises(PayloadTypeError, match=r"^input: is empty"):
        types.unpack(any_pb2.Any(), "tutti.v1.Text", "input")


def test_map_entries_are_named_with_their_key() -> None:
    with pytest.raises(RequestError) as caught:
        validate_input(
            payloads_pb2.Classification(label="a", confidence=0.5, scores={"a": 3.0}), "input"
        )
    assert caught.value.field == 'input.scores["a"]'


def test_unpack_of_corrupt_bytes_says_so_without_protobufs_own_words() -> None:
    corrupt = any_pb2.Any(type_url="type.googleapis.com/tutti.v1.Text", value=b"\x12\x03\x00")
    with pytest.raises(PayloadTypeError) as caught:
        MessageTypes().unpack(corrupt, "tutti.v1.Text", "input")
    said = caught.value.public_message
    assert said == "input: holds bytes that are not a valid tutti.v1.Text"
    assert "Error parsing" not in said and "Wire format" not in said
