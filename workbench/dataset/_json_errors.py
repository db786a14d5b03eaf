"""How a JSON value that does not fit is said: json_format's complaints made plain, JSON kinds."""

from __future__ import annotations

import contextlib
import re

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor

from workbench.dataset._fields import closest_first

__all__ = ["json_kind", "tidy_parse_error"]

_FAILED_FIELD = re.compile(r"^Failed to parse (\S+) field: ")
_NO_FIELD = re.compile(
    r'^Message type "(?P<type>[^"]+)" has no field named "(?P<name>[^"]+)" at "[^"]*"\.'
    r'\s*Available Fields\(except extensions\): "\[(?P<fields>.*)\]"'
)
_AT_PATH = re.compile(r" at [\w.\[\]]+$")


def tidy_parse_error(exc: json_format.ParseError, root: Descriptor) -> str:
    """json_format's complaint, said once: `field 'intent.confidence': Couldn't parse float: x`
    instead of a nest of `Failed to parse ... field:` with the path repeated at the end, and
    the fields of a type as the proto names them (json_format lists their lowerCamelCase)."""
    text = " ".join(str(exc).split())
    path: list[str] = []
    while match := _FAILED_FIELD.match(text):
        path.append(match.group(1))
        text = text[match.end() :]
    text = text.rstrip(".")
    missing = _NO_FIELD.match(text)
    if missing:
        names = [n.strip().strip("'\"") for n in missing["fields"].split(",") if n.strip()]
        with contextlib.suppress(KeyError):  # else json_format's own list
            names = [f.name for f in root.file.pool.FindMessageTypeByName(missing["type"]).fields]
        listed = ", ".join(closest_first(missing["name"], names)) or "none"
        text = f"{missing['type']} has no field '{missing['name']}' (fields: {listed})"
    else:
        text = _AT_PATH.sub("", text)
    return f"field '{'.'.join(path)}': {text}" if path else text


def json_kind(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a bool"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
    return type(value).__name__
