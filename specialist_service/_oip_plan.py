"""The `oip:` section read into a plan, and the plan checked against the model's metadata.

Reading checks what needs no server: the keys, and that every tensor maps to
a field path of the stage's types (a scalar, a repeated scalar, or labelled
probabilities filling a tutti.v1.Classification). Checking against the
metadata, once the server answers, checks that every tensor named exists and
its datatype fits its field. See `_oip` for the section's keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from google.protobuf import message
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from inference import grpc_predict_v2_pb2 as oip
from specialist_service._oip_tensors import DATATYPES, NATURAL_DATATYPE, InputSpec, OutputSpec, fits
from specialist_service._section import Section
from tutti.config import Problems
from tutti.messages import CLASSIFICATION, MessageTypes

__all__ = ["OipPlan", "described", "dotted", "input_specs", "read"]

_KEYS = frozenset(
    {"target", "model", "model_version", "inputs", "outputs", "timeout_s", "startup_timeout_s"}
)
_FLOATS = ("FP16", "FP32", "FP64")
_TYPE_NAMES = {
    number: name.removeprefix("TYPE_").lower()
    for name, number in vars(FieldDescriptor).items()
    if name.startswith("TYPE_") and isinstance(number, int)
}


def dotted(path: Sequence[FieldDescriptor]) -> str:
    return ".".join(f.name for f in path) or "(the whole output)"


def described(path: Sequence[FieldDescriptor]) -> str:
    """`ticket.text (string)`: a field path and its protobuf type."""
    field = path[-1]
    kind = field.message_type.full_name if field.message_type else _TYPE_NAMES[field.type]
    return f"{dotted(path)} ({'repeated ' if field.is_repeated else ''}{kind})"


@dataclass(frozen=True)
class OipPlan:
    """The `oip:` section, read: where the model is and which tensor maps to which field."""

    target: str
    model: str
    model_version: str
    timeout_s: float
    startup_timeout_s: float
    input_type: str
    output_class: type[message.Message]
    # (tensor, the key naming it, the field path it carries)
    inputs: tuple[tuple[str, str, tuple[FieldDescriptor, ...]], ...]
    # (the key naming the tensor, what it fills)
    outputs: tuple[tuple[str, OutputSpec], ...]


def read(
    data: Mapping[str, object],
    problems: Problems,
    input_type: str,
    output_type: str,
    types: MessageTypes,
    base_dir: Path,
) -> OipPlan | None:
    """Read the `oip:` section; None when a problem was reported."""
    before = len(problems.found)
    section = Section("oip", data, problems, _KEYS, base_dir=base_dir)
    target = section.text("target", required=True)
    model = section.text("model", required=True)
    model_version = section.text("model_version")
    timeout_s = section.number("timeout_s", 5.0, above=True)
    startup_s = section.number("startup_timeout_s", 10.0, above=True)
    inputs_map, outputs_map = section.mapping("inputs"), section.mapping("outputs")
    # An empty mapping is as missing as none; a value that is no mapping was reported.
    if not inputs_map and isinstance(data.get("inputs") or {}, Mapping):
        section.report("inputs", "missing required key; map tensor names to input fields")
    if not outputs_map and isinstance(data.get("outputs") or {}, Mapping):
        section.report("outputs", "missing required key; map tensor names to output fields")
    classes = []
    for key, name in (("input", input_type), ("output", output_type)):
        if name and not types.knows(name):
            problems.report(key, f"unknown message type {name} (add its module to 'imports')")
        elif name:
            classes.append(types.message_class(name))
    if len(classes) < 2:
        return None
    input_class, output_class = classes
    inputs = []
    for tensor, value in inputs_map.items():
        key = f"inputs.{tensor}"
        if not isinstance(value, str) or not value:
            section.report(key, f"must be a dotted field path of {input_type}, not {value!r}")
            continue
        path = _path(section, key, cast(Descriptor, input_class.DESCRIPTOR), value)
        if path and _scalar(section, key, path):
            inputs.append((tensor, key, path))
    outputs = []
    for tensor, value in outputs_map.items():
        key = f"outputs.{tensor}"
        spec = _output(section, key, tensor, value, cast(Descriptor, output_class.DESCRIPTOR))
        if spec is not None:
            outputs.append((key, spec))
    if len(problems.found) > before:
        return None
    return OipPlan(
        target, model, model_version, timeout_s, startup_s, input_type, output_class,
        tuple(inputs), tuple(outputs),
    )  # fmt: skip


def input_specs(
    plan: OipPlan, metadata: oip.ModelMetadataResponse, section: Section
) -> tuple[list[InputSpec], list[OutputSpec]]:
    """The tensors of `plan` with their datatypes; every disagreement with `metadata` reported."""
    declared_in = {t.name: t.datatype for t in metadata.inputs}
    declared_out = {t.name: t.datatype for t in metadata.outputs}
    inputs = []
    for tensor, key, path in plan.inputs:
        datatype = declared_in.get(tensor) or NATURAL_DATATYPE[path[-1].cpp_type]
        _check_tensor(section, key, plan.model, "input", tensor, declared_in, datatype, path, True)
        inputs.append(InputSpec(tensor, path, datatype))
    for key, spec in plan.outputs:
        tensor, datatype = spec.tensor, declared_out.get(spec.tensor, "")
        if spec.labels is None:
            if datatype:
                _check_tensor(
                    section, key, plan.model, "output", tensor, declared_out, datatype,
                    spec.path, False,
                )  # fmt: skip
            continue
        _check_known(section, key, plan.model, "output", tensor, declared_out)
        if datatype and datatype not in _FLOATS:
            section.report(
                key, f"output tensor '{tensor}' of model {plan.model} is {datatype}; probabilities"
                " for labels must be FP16, FP32 or FP64",
            )  # fmt: skip
        width = next((t.shape[-1] for t in metadata.outputs if t.name == tensor and t.shape), -1)
        if width > 0 and width != len(spec.labels):
            section.report(
                f"{key}.labels",
                f"{len(spec.labels)} labels, but output tensor '{tensor}' has {width} classes",
            )
    return inputs, [spec for _, spec in plan.outputs]


def _path(
    section: Section, key: str, root: Descriptor, path_text: str
) -> tuple[FieldDescriptor, ...]:
    """The fields along `path_text`, through singular message fields, from `root`; () if none."""
    path: list[FieldDescriptor] = []
    current: Descriptor | None = root
    for part in path_text.split("."):
        if current is None:
            section.report(key, f"{dotted(path)} is not a message, so it has no field {part}")
            return ()
        field = current.fields_by_name.get(part)
        if field is None:
            section.report(key, f"{current.full_name} has no field {part!r}")
            return ()
        path.append(field)
        singular_message = (
            field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE and not field.is_repeated
        )
        current = field.message_type if singular_message else None
    return tuple(path)


def _output(
    section: Section, key: str, tensor: str, value: object, root: Descriptor
) -> OutputSpec | None:
    if isinstance(value, str) and value:
        path = _path(section, key, root, value)
        return OutputSpec(tensor, path) if path and _scalar(section, key, path) else None
    if not isinstance(value, Mapping) or set(value) - {"field", "labels"} or "labels" not in value:
        section.report(
            key, "must be a dotted field path of the output, or {labels: ..., field: path}"
        )
        return None
    field = value.get("field") or ""
    if not isinstance(field, str):
        section.report(f"{key}.field", f"must be a dotted field path, not {field!r}")
        return None
    path = _path(section, f"{key}.field", root, field) if field else ()
    if field and not path:
        return None
    kind = path[-1].message_type if path else root
    labels = _labels(section, f"{key}.labels", value["labels"])
    if kind is None or kind.full_name != CLASSIFICATION or (path and path[-1].is_repeated):
        section.report(
            f"{key}.field" if field else key,
            f"{dotted(path)} is not a {CLASSIFICATION}, which labelled probabilities fill",
        )
        return None
    return None if labels is None else OutputSpec(tensor, path, labels)


def _labels(section: Section, key: str, value: object) -> tuple[str, ...] | None:
    """A list of labels, or a file of them: JSON (a list, or an object's "labels"), else lines."""
    labels: object = value
    if isinstance(value, str) and value:
        path = section.base_dir / value
        try:
            text = path.read_text(encoding="utf-8")
            labels = json.loads(text) if path.suffix == ".json" else text.split("\n")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            section.report(key, f"cannot read labels from {path}: {exc}")
            return None
        if isinstance(labels, dict):
            labels = labels.get("labels")
        if isinstance(labels, list) and path.suffix != ".json":
            labels = [line.strip() for line in labels if line.strip()]
    if (
        not isinstance(labels, list)
        or not labels
        or not all(isinstance(v, str) and v for v in labels)
    ):
        section.report(key, "must be a list of labels, or a file of them")
        return None
    if len(set(labels)) != len(labels):
        section.report(key, "labels repeat; each class needs its own")
        return None
    return tuple(labels)


def _check_known(
    section: Section, key: str, model: str, side: str, tensor: str, declared: Mapping[str, str]
) -> bool:
    if declared and tensor not in declared:
        section.report(
            key, f"model {model} has no {side} tensor '{tensor}'; it has: {', '.join(declared)}"
        )
        return False
    return True


def _check_tensor(
    section: Section,
    key: str,
    model: str,
    side: str,
    tensor: str,
    declared: Mapping[str, str],
    datatype: str,
    path: Sequence[FieldDescriptor],
    sending: bool,
) -> None:
    if _check_known(section, key, model, side, tensor, declared) and not fits(
        path[-1], datatype, sending
    ):
        fitting = [d for d in DATATYPES if fits(path[-1], d, sending)]
        section.report(
            key,
            f"{side} tensor '{tensor}' of model {model} is {datatype}, which cannot"
            f" {'carry' if sending else 'fill'} {described(path)}; that takes"
            f" {', '.join(fitting)}",
        )


def _scalar(section: Section, key: str, path: tuple[FieldDescriptor, ...]) -> bool:
    """Whether `path` ends at a scalar or repeated scalar field: what one tensor maps to."""
    if path[-1].cpp_type in (FieldDescriptor.CPPTYPE_MESSAGE, FieldDescriptor.CPPTYPE_ENUM):
        section.report(
            key,
            f"{described(path)} is not a scalar or repeated scalar field, which tensors map to",
        )
        return False
    return True
