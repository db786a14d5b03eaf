"""Dotted field paths through message types: checking one, and finding the fields that fit."""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from tutti.errors import ConfigError, Problem

if TYPE_CHECKING:
    from google._upb._message import Descriptor as UpbDescriptor

    # What a generated class's DESCRIPTOR is, as the stubs say it: one type at run time.
    MessageDescriptor: TypeAlias = Descriptor | UpbDescriptor

__all__ = [
    "INTEGER_TYPES",
    "MAX_PATH_DEPTH",
    "FieldCheck",
    "as_descriptor",
    "closest_first",
    "is_singular_string",
    "kind_of",
    "paths_to",
    "walk_path",
]

# Paths are searched this deep at most: a message that holds itself (a tree) has no bottom.
MAX_PATH_DEPTH = 6

FieldCheck = Callable[[FieldDescriptor], bool]

_T = FieldDescriptor
_SCALAR_NAMES = {
    _T.TYPE_DOUBLE: "double",
    _T.TYPE_FLOAT: "float",
    _T.TYPE_INT64: "int64",
    _T.TYPE_UINT64: "uint64",
    _T.TYPE_INT32: "int32",
    _T.TYPE_FIXED64: "fixed64",
    _T.TYPE_FIXED32: "fixed32",
    _T.TYPE_BOOL: "bool",
    _T.TYPE_STRING: "string",
    _T.TYPE_BYTES: "bytes",
    _T.TYPE_UINT32: "uint32",
    _T.TYPE_SFIXED32: "sfixed32",
    _T.TYPE_SFIXED64: "sfixed64",
    _T.TYPE_SINT32: "sint32",
    _T.TYPE_SINT64: "sint64",
}


INTEGER_TYPES = frozenset(
    {
        _T.TYPE_INT32,
        _T.TYPE_INT64,
        _T.TYPE_UINT32,
        _T.TYPE_UINT64,
        _T.TYPE_SINT32,
        _T.TYPE_SINT64,
        _T.TYPE_FIXED32,
        _T.TYPE_FIXED64,
        _T.TYPE_SFIXED32,
        _T.TYPE_SFIXED64,
    }
)


def as_descriptor(descriptor: MessageDescriptor) -> Descriptor:
    """`descriptor` as google.protobuf.descriptor has it: the stubs give a generated class's
    DESCRIPTOR two types, which at run time are the same one."""
    return cast(Descriptor, descriptor)


def kind_of(field: FieldDescriptor) -> str:
    """What a field holds, as a message would say it: `string`, `a map`, `a repeated int32`."""
    message_type: Any = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        return "a map"
    if message_type is not None:
        single = f"a message ({message_type.full_name})"
    elif field.enum_type is not None:
        single = f"an enum ({field.enum_type.full_name})"
    else:
        scalar = _SCALAR_NAMES.get(field.type, "group")
        single = f"{'an' if scalar.startswith('int') else 'a'} {scalar}"
    return f"repeated: {single}" if field.is_repeated else single


def is_singular_string(field: FieldDescriptor) -> bool:
    return field.type == _T.TYPE_STRING and not field.is_repeated


def _singular_message(field: FieldDescriptor) -> Descriptor | None:
    """The message type of a field that holds one message (not repeated, not a map)."""
    return None if field.is_repeated else field.message_type


def closest_first(name: str, names: list[str]) -> list[str]:
    """`names`, the ones closest to `name` first (difflib), then the rest in their order."""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    return close + [n for n in names if n not in close]


def paths_to(
    descriptor: Descriptor, accept: FieldCheck, name: str | None = None
) -> list[list[str]]:
    """Every dotted path from `descriptor` through singular message fields to a field that
    `accept`s (and is called `name`, when given); shallowest first, then in declaration order.

    Paths are grouped by depth: element 0 holds the top-level ones, and so on; empty depths
    are kept, so that `paths_to(...)[0]` is always the top level.
    """
    by_depth: list[list[str]] = []
    # Each entry carries the types on its own path: the same type may sit under two fields
    # (two Classifications), and each must be searched, but a type inside itself must not.
    queue: deque[tuple[Descriptor, str, frozenset[str]]] = deque([(descriptor, "", frozenset())])
    while queue:
        current, prefix, ancestors = queue.popleft()
        depth = prefix.count(".") + (1 if prefix else 0)
        while len(by_depth) <= depth:
            by_depth.append([])
        seen = ancestors | {current.full_name}
        for field in current.fields:
            path = f"{prefix}.{field.name}" if prefix else field.name
            if accept(field) and (name is None or field.name == name):
                by_depth[depth].append(path)
            inner = _singular_message(field)
            if inner is not None and inner.full_name not in seen and depth + 1 < MAX_PATH_DEPTH:
                queue.append((inner, path, seen))
    return by_depth


def walk_path(
    descriptor: Descriptor,
    path: str,
    accept: FieldCheck,
    *,
    source: str,
    wanted: str,
    named: str = "",
) -> tuple[FieldDescriptor, ...]:
    """The fields along the dotted `path` from `descriptor`, the last one `accept`ed.

    Every step but the last goes through a singular message field. A path that does not
    fit is a ConfigError naming the segment, the type it looked in, the fields there (the
    closest first) and what was `wanted` at the end; `named` goes before the quoted path
    (`--input-field `), and the problem is at `source` (a file, or the flag of the path).
    """
    parts = path.split(".")
    if not path or any(not part for part in parts):
        raise _error(source, f"{named}'{path}' is not a dotted path of field names, as a.b.c is")
    current = descriptor
    fields: list[FieldDescriptor] = []
    for index, part in enumerate(parts):
        where = f"{named}'{path}'" + (f", segment '{part}'" if len(parts) > 1 else "")
        found = current.fields_by_name.get(part)
        if found is None:
            names = closest_first(part, [f.name for f in current.fields])
            there = ", ".join(names) if names else "none"
            raise _error(
                source, f"{where}: {current.full_name} has no field '{part}' (fields: {there})"
            )
        fields.append(found)
        last = index == len(parts) - 1
        if last and accept(found):
            return tuple(fields)
        if last:
            said = _not_wanted(current, found, accept, wanted, ".".join(parts[:index]))
            raise _error(source, f"{where}: {said}")
        inner = _singular_message(found)
        if inner is None:
            raise _error(
                source,
                f"{where}: {current.full_name}.{part} is {kind_of(found)}; every field of a path"
                " but the last is a message, and not a repeated one",
            )
        current = inner
    raise AssertionError("unreachable: a path has at least one part")


def _not_wanted(
    current: Descriptor, found: FieldDescriptor, accept: FieldCheck, wanted: str, before: str
) -> str:
    said = f"{current.full_name}.{found.name} is {kind_of(found)}, not {wanted}"
    inner = _singular_message(found)
    if inner is not None:
        inside = [p for depth in paths_to(inner, accept) for p in depth][:5]
        if inside:
            here = f"{before}.{found.name}" if before else found.name
            said += "; did you mean " + " or ".join(f"'{here}.{p}'" for p in inside) + "?"
    return said


def _error(source: str, message: str) -> ConfigError:
    return ConfigError(Problem(source, 0, message))
