"""Open Inference Protocol tensors to and from protobuf fields: datatype rules and the codec.

One message is one row: a scalar field goes out as a tensor of shape [1], a
repeated one as [1, n]. An output tensor fills a scalar field (one value) or a
repeated one (all values). BYTES carries string and bytes fields (UTF-8), FP32
and FP64 float and double, INT*/UINT* the integer fields that can hold them,
BOOL bool. Outputs decode from typed contents or from raw ones (little-endian,
row-major; FP16 travels only raw). Class probabilities fill a
tutti.v1.Classification: label and confidence of the most probable class, and
every class's score.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import message
from google.protobuf.descriptor import FieldDescriptor

from inference import grpc_predict_v2_pb2 as oip

__all__ = [
    "DATATYPES",
    "NATURAL_DATATYPE",
    "InputSpec",
    "OutputSpec",
    "classify",
    "fits",
    "input_tensor",
    "output_values",
]

_FD = FieldDescriptor
# (signed, bits) of the integer datatypes, of tensors and of protobuf fields.
_INT_TENSORS = {
    **{f"INT{bits}": (True, bits) for bits in (8, 16, 32, 64)},
    **{f"UINT{bits}": (False, bits) for bits in (8, 16, 32, 64)},
}
_INT_FIELDS = {
    _FD.CPPTYPE_INT32: (True, 32),
    _FD.CPPTYPE_INT64: (True, 64),
    _FD.CPPTYPE_UINT32: (False, 32),
    _FD.CPPTYPE_UINT64: (False, 64),
}
# The datatype a field's values go out as when the server declares none.
NATURAL_DATATYPE = {
    _FD.CPPTYPE_STRING: "BYTES",
    _FD.CPPTYPE_BOOL: "BOOL",
    _FD.CPPTYPE_FLOAT: "FP32",
    _FD.CPPTYPE_DOUBLE: "FP64",
    _FD.CPPTYPE_INT32: "INT32",
    _FD.CPPTYPE_INT64: "INT64",
    _FD.CPPTYPE_UINT32: "UINT32",
    _FD.CPPTYPE_UINT64: "UINT64",
}
_CONTENTS = {
    "BOOL": "bool_contents",
    **{f"INT{bits}": "int_contents" for bits in (8, 16, 32)},
    "INT64": "int64_contents",
    **{f"UINT{bits}": "uint_contents" for bits in (8, 16, 32)},
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
# struct codes of raw (little-endian, row-major) contents; FP16 travels only raw.
_RAW = {"BOOL": "?", "FP16": "e", "FP32": "f", "FP64": "d"}
_RAW |= {f"INT{bits}": code for bits, code in ((8, "b"), (16, "h"), (32, "i"), (64, "q"))}
_RAW |= {f"UINT{bits}": code for bits, code in ((8, "B"), (16, "H"), (32, "I"), (64, "Q"))}
DATATYPES = (*_RAW, "BYTES")


def _holds(wide: tuple[bool, int], narrow: tuple[bool, int]) -> bool:
    """Whether integer type `wide` holds every value of `narrow`."""
    if wide[0] == narrow[0]:
        return wide[1] >= narrow[1]
    return wide[0] and wide[1] > narrow[1]


def fits(field: FieldDescriptor, datatype: str, sending: bool) -> bool:
    """Whether a tensor of `datatype` carries the field's values (sending) or fills it."""
    kind = field.cpp_type
    if kind == _FD.CPPTYPE_STRING:
        return datatype == "BYTES"
    if kind == _FD.CPPTYPE_BOOL:
        return datatype == "BOOL"
    if kind in (_FD.CPPTYPE_FLOAT, _FD.CPPTYPE_DOUBLE):
        return datatype in ("FP32", "FP64") or (datatype == "FP16" and not sending)
    if kind in _INT_FIELDS and datatype in _INT_TENSORS:
        ours, theirs = _INT_FIELDS[kind], _INT_TENSORS[datatype]
        return _holds(theirs, ours) if sending else _holds(ours, theirs)
    return False


@dataclass(frozen=True)
class InputSpec:
    """One input tensor: its name, the field it carries, and its datatype."""

    tensor: str
    path: tuple[FieldDescriptor, ...]
    datatype: str


@dataclass(frozen=True)
class OutputSpec:
    """One output tensor and the field it fills."""

    tensor: str
    # Empty only for a Classification filling the whole output message.
    path: tuple[FieldDescriptor, ...]
    # Set when the tensor holds class probabilities in this order.
    labels: tuple[str, ...] | None = None


def input_tensor(spec: InputSpec, msg: message.Message) -> oip.ModelInferRequest.InferInputTensor:
    value: Any = msg
    for field in spec.path:
        value = getattr(value, field.name)
    field = spec.path[-1]
    values = list(value) if field.is_repeated else [value]
    if field.type == _FD.TYPE_STRING:
        values = [v.encode("utf-8") for v in values]
    tensor = oip.ModelInferRequest.InferInputTensor(
        name=spec.tensor,
        datatype=spec.datatype,
        shape=[1, len(values)] if field.is_repeated else [1],
    )
    getattr(tensor.contents, _CONTENTS[spec.datatype]).extend(values)
    return tensor


def output_values(
    tensor: oip.ModelInferResponse.InferOutputTensor, raw: bytes | None
) -> list[object] | None:
    """The tensor's elements, flattened, from its typed contents or its raw bytes."""
    if raw is None:
        name = _CONTENTS.get(tensor.datatype)
        return None if name is None else list(getattr(tensor.contents, name))
    if tensor.datatype == "BYTES":
        # Each element: a 4-byte little-endian length, then that many bytes.
        elements: list[object] = []
        at = 0
        while at + 4 <= len(raw):
            (size,) = struct.unpack_from("<I", raw, at)
            elements.append(raw[at + 4 : at + 4 + size])
            at += 4 + size
        return elements
    code = _RAW.get(tensor.datatype)
    if code is None or len(raw) % struct.calcsize(code):
        return None
    return list(struct.unpack(f"<{len(raw) // struct.calcsize(code)}{code}", raw))


def classify(target: Any, labels: Sequence[str], probabilities: Sequence[float]) -> None:
    # The first of equal maxima wins, as in the sklearn backend.
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    target.label = labels[best]
    target.confidence = probabilities[best]
    target.scores.update(zip(labels, probabilities, strict=True))
