"""How one row becomes the input message: a JSON object parsed whole, or a text filling a field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from tutti.errors import ConfigError, Problem, RequestError
from tutti.messages import validate_input
from workbench.dataset._fields import (
    INTEGER_TYPES,
    is_singular_string,
    kind_of,
    paths_to,
    walk_path,
)
from workbench.dataset._json_errors import json_kind, tidy_parse_error

__all__ = [
    "CellError",
    "Columns",
    "ConstraintError",
    "InputRules",
    "RowError",
]

_INPUT_FIELD_FLAG = "--input-field"
_INPUT_COLUMN_FLAG = "--input-column"
_TEXT_FIELD = "text"
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_T = FieldDescriptor
_DECIMAL_TYPES = frozenset({_T.TYPE_DOUBLE, _T.TYPE_FLOAT})
_INTEGER = re.compile(r"[-+]?\d+")
# json_format's own spellings of the floats JSON has no number for, as well as numbers.
_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|NaN|-?Infinity")


@dataclass(frozen=True)
class Columns:
    """Which column (CSV/TSV) or key (JSONL) holds what."""

    label: str = "label"
    text: str = "text"
    input: str | None = None  # a JSON object of the input type; the text rule when None
    id: str = "id"


class RowError(Exception):
    """One row's input does not fit the input type; the message says why, without the line."""


class CellError(RowError):
    """One cell (or key) of the row does not fit its field; the reader says where it is."""

    def __init__(self, column: str, detail: str) -> None:
        super().__init__(f"'{column}' {detail}")
        self.column = column
        self.detail = detail


class ConstraintError(RowError):
    """The row's input fits the type's shape but breaks one of its protovalidate constraints."""


class InputRules:
    """Builds input messages of one type from a file's rows.

    The JSON rule parses an object with json_format (field names as in the proto or in
    lowerCamelCase, unknown fields refused). The text rule puts a text into one string
    field, the text field, and fills top-level scalar fields (strings, numbers, bools,
    enums) from the other columns or keys named like them (`id` fills Ticket.id); cells
    named like no field are ignored, and an empty cell leaves its field unset. Either way
    the message is then checked against its protovalidate constraints, as the router will.

    The text field is `input_field` when given (a dotted path), else the input type's only
    string field (counting those inside its singular message fields), else its string
    field named `text`, the shallowest one (Triage's `ticket.text`). A type with neither
    is an error only when the text rule is used, so a file read by the JSON rule alone
    never needs one.
    """

    def __init__(self, input_type: Descriptor, *, source: str, input_field: str | None) -> None:
        self.input_type = input_type
        self.type_name: str = input_type.full_name
        self.source = source
        self._class = message_factory.GetMessageClass(input_type)
        self._target: tuple[str, ...] | None = None
        if input_field is not None:
            fields = walk_path(
                input_type,
                input_field,
                is_singular_string,
                source=source,
                wanted="a string field, which the text fills",
                named=f"{_INPUT_FIELD_FLAG} ",
            )
            self._target = tuple(f.name for f in fields)
        else:
            self._target = self._default_target()
        top = self._target[0] if self._target and len(self._target) == 1 else None
        self._scalars: dict[str, FieldDescriptor] = {}
        for field in input_type.fields:
            if field.message_type is None and not field.is_repeated and field.name != top:
                self._scalars[field.name] = field
                self._scalars.setdefault(field.json_name, field)

    @property
    def has_text_field(self) -> bool:
        """Whether the text rule has a field to fill (given, or found by default)."""
        return self._target is not None

    def text_field(self, text_column: str) -> str:
        """The dotted path of the field the text fills; a ConfigError when there is none."""
        if self._target is None:
            raise ConfigError(Problem(self.source, 0, self._no_text_field(text_column)))
        return ".".join(self._target)

    def from_object(self, value: object) -> Message:
        """The JSON rule: `value`, a JSON object, parsed whole into the input type."""
        if not isinstance(value, dict):
            raise RowError(f"holds {json_kind(value)}; expected a JSON object of {self.type_name}")
        msg = self._class()
        try:
            json_format.ParseDict(value, msg)
        except json_format.ParseError as exc:
            raise RowError(
                f"does not fit {self.type_name}: {tidy_parse_error(exc, self.input_type)}"
            ) from None
        return self._checked(msg)

    def from_text(self, text: str, text_column: str, others: Mapping[str, object]) -> Message:
        """The text rule: `text` in the text field, and `others` (column or key -> value)
        in the top-level scalar fields named like them."""
        path = self.text_field(text_column).split(".")
        document: dict[str, Any] = {}
        columns: dict[str, str] = {}
        for column, value in others.items():
            field = self._scalars.get(column)
            if field is None or value is None or value == "":
                continue
            document[field.name] = _scalar(field, column, value)
            columns[field.name] = column
        inner = document
        for name in path[:-1]:
            inner = inner.setdefault(name, {})
        inner[path[-1]] = text
        msg = self._class()
        try:
            json_format.ParseDict(document, msg)
        except json_format.ParseError as exc:
            self._blame_a_cell(document, columns)
            raise RowError(
                f"does not fit {self.type_name}: {tidy_parse_error(exc, self.input_type)}"
            ) from None
        return self._checked(msg)

    def _blame_a_cell(self, document: dict[str, Any], columns: dict[str, str]) -> None:
        """The cell that keeps a row from parsing, as a CellError, when one alone does (only
        a row that failed pays for parsing its cells one by one)."""
        for name, column in columns.items():
            try:
                json_format.ParseDict({name: document[name]}, self._class())
            except json_format.ParseError as exc:
                said = tidy_parse_error(exc, self.input_type).removeprefix(f"field '{name}': ")
                raise CellError(column, f"does not fit {self.type_name}.{name}: {said}") from None

    def _checked(self, msg: Message) -> Message:
        try:
            validate_input(msg, "input")
        except RequestError as exc:
            raise ConstraintError(f"breaks a constraint of {self.type_name}: {exc}") from None
        return msg

    def _default_target(self) -> tuple[str, ...] | None:
        strings = [p for depth in paths_to(self.input_type, is_singular_string) for p in depth]
        if len(strings) == 1:
            return tuple(strings[0].split("."))
        named = _shallowest(paths_to(self.input_type, is_singular_string, _TEXT_FIELD))
        return tuple(named[0].split(".")) if len(named) == 1 else None

    def _no_text_field(self, column: str) -> str:
        name = self.type_name
        as_json = f"give each input as a JSON object with {_INPUT_COLUMN_FLAG}"
        named = _shallowest(paths_to(self.input_type, is_singular_string, _TEXT_FIELD))
        if named:
            return (
                f"{name} has {len(named)} string fields named '{_TEXT_FIELD}' as deep"
                f" ({', '.join(named)}); pick the one the '{column}' column fills with"
                f" {_INPUT_FIELD_FLAG}, or {as_json}"
            )
        strings = [p for depth in paths_to(self.input_type, is_singular_string) for p in depth]
        if not strings:
            return f"{name} has no string field for the '{column}' column to fill; {as_json}"
        listed = ", ".join(strings[:10]) + (
            f", and {len(strings) - 10} more" if len(strings) > 10 else ""
        )
        return (
            f"{name} has {len(strings)} string fields ({listed}) and none named"
            f" '{_TEXT_FIELD}'; pick the one the '{column}' column fills with"
            f" {_INPUT_FIELD_FLAG}, or {as_json}"
        )


def _shallowest(by_depth: list[list[str]]) -> list[str]:
    return next((paths for paths in by_depth if paths), [])


def _scalar(field: FieldDescriptor, column: str, value: object) -> object:
    """A cell as json_format takes it. A bool written as text is read here (json_format
    reads only JSON's true and false), and a number written as text is checked here, to
    say what it should be rather than what int() says of it."""
    if not isinstance(value, str) or field.enum_type is not None:
        return value
    if field.type == FieldDescriptor.TYPE_BOOL:
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise CellError(column, f"is {value!r}; {field.name} is a bool: true or false, 1 or 0")
    number = (
        _INTEGER
        if field.type in INTEGER_TYPES
        else _DECIMAL
        if field.type in _DECIMAL_TYPES
        else None
    )
    if number is not None and not number.fullmatch(value.strip()):
        raise CellError(column, f"is {value!r}; {field.name} is {kind_of(field)}")
    return value.strip() if number is not None else value
