"""Where the label sits in a response: a dotted field path, checked against the output type."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from tutti.errors import ConfigError, Problem

if TYPE_CHECKING:
    from workbench.dataset._fields import MessageDescriptor
from workbench.dataset._fields import (
    INTEGER_TYPES,
    FieldCheck,
    as_descriptor,
    closest_first,
    is_singular_string,
    paths_to,
    walk_path,
)

__all__ = ["LABEL_FIELD", "LabelPath", "default_label_path", "label_path"]

LABEL_FIELD = "label"
_FLAG = "--label-path"
_T = FieldDescriptor
_LABEL_TYPES = INTEGER_TYPES | {_T.TYPE_STRING, _T.TYPE_ENUM, _T.TYPE_BOOL}
_LABEL_KINDS = "a string, enum, integer or bool field, not repeated"
_WANTED = f"a label ({_LABEL_KINDS})"


def _is_label(field: FieldDescriptor) -> bool:
    return field.type in _LABEL_TYPES and not field.is_repeated


@dataclass(frozen=True)
class LabelPath:
    """A checked path from an output type to its label field.

    `read` turns the field into the string a labelled file would hold: a string as it is,
    an enum by its value's name (its number when the name is unknown), an integer in
    decimal, a bool as `true` or `false` (JSON's spelling, which a JSONL label would have).
    """

    output_type: str
    path: str
    fields: tuple[FieldDescriptor, ...] = dataclasses.field(repr=False)

    def read(self, message: Message) -> str:
        """The label in `message` (of `output_type`); an unset message on the way reads as ""."""
        actual = message.DESCRIPTOR.full_name
        if actual != self.output_type:
            raise TypeError(f"label path '{self.path}' reads {self.output_type}, not {actual}")
        current = message
        for field in self.fields[:-1]:
            if not current.HasField(field.name):
                return ""
            current = getattr(current, field.name)
        last = self.fields[-1]
        value = getattr(current, last.name)
        if last.enum_type is not None:
            known = last.enum_type.values_by_number.get(value)
            return known.name if known is not None else str(value)
        if last.type == _T.TYPE_BOOL:
            return "true" if value else "false"
        return str(value)


def label_path(output_type: MessageDescriptor, path: str, *, source: str = _FLAG) -> LabelPath:
    """The label at dotted `path` (`label`, `intent.label`, `triage.intent.label`) in
    `output_type`, checked before anything runs: every segment but the last a singular
    message field, the last a string, enum, integer or bool field, not repeated.

    A path that does not fit is a ConfigError at `source` (the flag, or the file the path
    was read from) naming the segment, the type it looked in and the fields there, the
    closest first.
    """
    descriptor = as_descriptor(output_type)
    fields = walk_path(descriptor, path, _is_label, source=source, wanted=_WANTED)
    return LabelPath(descriptor.full_name, path, fields)


def default_label_path(output_type: MessageDescriptor, *, source: str = _FLAG) -> LabelPath:
    """The path to the field named `label`, searched breadth first through singular message
    fields (the output type's own fields first, then theirs, and so on): the shallowest
    one wins; two or more at that depth is a ConfigError listing them, as is none at all."""
    descriptor = as_descriptor(output_type)
    found = next((depth for depth in paths_to(descriptor, _is_label, LABEL_FIELD) if depth), [])
    if len(found) == 1:
        return label_path(output_type, found[0], source=source)
    name = descriptor.full_name
    if found:
        listed = ", ".join(found)
        message = f"{name} has {len(found)} label fields as deep: {listed}; pick one with {_FLAG}"
    else:
        message = f"{name} has no field '{LABEL_FIELD}', nor does any message inside it"
        candidates = _label_candidates(descriptor)
        if candidates:
            message += f"; name the label's field with {_FLAG} (one of: {', '.join(candidates)})"
        else:
            message += f", nor any field that could hold a label ({_LABEL_KINDS})"
    raise ConfigError(Problem(source, 0, message))


def _label_candidates(output_type: Descriptor, limit: int = 10) -> list[str]:
    """Fields that could hold a label, strings first (labels mostly are), shallowest first."""
    check: FieldCheck = is_singular_string
    strings = [p for depth in paths_to(output_type, check) for p in depth]
    others = [p for depth in paths_to(output_type, _is_label) for p in depth if p not in strings]
    return closest_first(LABEL_FIELD, strings + others)[:limit]
