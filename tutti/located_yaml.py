"""YAML loading that remembers the line of every mapping, key and list item."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tutti.errors import ConfigError, Problem

__all__ = ["LocatedList", "LocatedMap", "line_of", "load_located", "read_config_text"]

# Past these, a file is refused before it costs more. A few KB of nested aliases ("billion
# laughs") can stand for millions of nodes, which the compiler would walk as copies: a
# document may expand to ALIAS_GROWTH times the nodes it writes out, or to EXPANDED_FLOOR
# nodes, whichever is more (a file without aliases expands to itself, so large files pass).
MAX_CONFIG_BYTES = 16 * 1024 * 1024
ALIAS_GROWTH = 10
EXPANDED_FLOOR = 100_000

# libyaml's parser (several times faster on large files) where PyYAML was built with it;
# its events carry the same marks, so every line below is the same either way.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_config_text(path: str | Path, stage: str = "") -> str:
    """A configuration file's text; a file that cannot be read, or is not UTF-8, is a
    ConfigError naming the file (and, for bytes that are not UTF-8, their offset and line)."""
    source = str(path)
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(Problem(source, 0, f"cannot read: {exc.strerror or exc}", stage)) from exc
    if len(data) > MAX_CONFIG_BYTES:
        why = f"is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MB, more than any configuration"
        raise ConfigError(Problem(source, 0, why, stage))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        why = f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise ConfigError(Problem(source, line, why, stage)) from None


class LocatedMap(dict[str, Any]):
    """A mapping that knows its own line and the line of each key, and where each of its
    own scalar values is written: (line, column) of its first and past its last character,
    both counted from 0, so a tool can rewrite one value and leave the rest of the file as it
    was."""

    line: int = 0
    key_lines: dict[str, int]
    value_spans: dict[str, tuple[int, int, int, int]]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def span_of(self, key: str) -> tuple[int, int, int, int] | None:
        return getattr(self, "value_spans", {}).get(key)


class LocatedList(list[Any]):
    """A list that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def line_of(value: Any, default: int = 0) -> int:
    return getattr(value, "line", default) or default


_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"


def _not_a_string(key: object) -> str:
    if isinstance(key, bool):
        # A route label `yes:` or `off:` arrives as a boolean, which the user never meant.
        return f"key {key!r} (YAML reads yes/no/on/off as booleans) must be a string: quote it"
    return f"key {key!r} must be a string"


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that builds LocatedMap/LocatedList, rejects duplicate keys and merges `<<`."""

    source = "<composition>"
    duplicates: list[Problem]

    # Generators, as PyYAML's own constructors are: yielding the empty container first
    # lets recursive structures refer to it before it is filled.
    def construct_located_map(self, node: yaml.MappingNode) -> Iterator[LocatedMap]:
        result = LocatedMap()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        result.value_spans = {}
        yield result
        # Not PyYAML's flatten_mapping: it puts merged pairs before the mapping's own, so an
        # override would read as a duplicate key and lose to the default it overrides.
        own: list[tuple[yaml.Node, yaml.Node]] = []
        sources: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources.extend(self._merge_sources(node, value_node))
            else:
                own.append((key_node, value_node))
        # Earlier sources win over later ones, and the mapping's own keys over every source.
        for source in sources:
            base = self.construct_object(source, deep=True)
            if not isinstance(base, LocatedMap):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"expected a plain mapping for merging, but found {source.tag}",
                    source.start_mark,
                )
            for key, value in list(base.items()):
                if key not in result:
                    result[key] = value
                    result.key_lines[key] = base.line_of(key)
        seen: set[str] = set()
        for key_node, value_node in own:
            if key_node.tag == _VALUE_TAG:  # as flatten_mapping does: `=` is a plain key
                key_node.tag = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.duplicates.append(Problem(self.source, line, _not_a_string(key)))
                key = str(key)
            if key in seen:
                first = result.key_lines[key]
                self.duplicates.append(
                    Problem(
                        self.source, line, f"duplicate key '{key}' (first defined on line {first})"
                    )
                )
                continue
            seen.add(key)
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line
            if isinstance(value_node, yaml.ScalarNode):
                start, end = value_node.start_mark, value_node.end_mark
                result.value_spans[key] = (start.line, start.column, end.line, end.column)

    def _merge_sources(
        self, node: yaml.MappingNode, value_node: yaml.Node
    ) -> list[yaml.MappingNode]:
        """The mappings that `<<: *a` or `<<: [*a, *b]` merges, in order of precedence."""
        candidates: list[yaml.Node] = (
            list(value_node.value) if isinstance(value_node, yaml.SequenceNode) else [value_node]
        )
        sources = []
        for candidate in candidates:
            if not isinstance(candidate, yaml.MappingNode):
                found = "a scalar" if isinstance(candidate, yaml.ScalarNode) else "a list"
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"expected a mapping or list of mappings for merging, but found {found}",
                    candidate.start_mark,
                )
            sources.append(candidate)
        return sources

    def construct_located_list(self, node: yaml.SequenceNode) -> Iterator[LocatedList]:
        result = LocatedList()
        result.line = node.start_mark.line + 1
        result.item_lines = [item.start_mark.line + 1 for item in node.value]
        yield result
        result.extend(self.construct_object(item, deep=True) for item in node.value)


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_located_map
)
_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_located_list
)


def load_located(text: str, source: str) -> tuple[Any, list[Problem]]:
    """Parse YAML text; syntax errors raise ConfigError with the line, duplicate keys are returned."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader already refuses some characters here
        loader.source = source
        loader.duplicates = []
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(Problem(source, line, f"invalid YAML: {exc.problem or exc}")) from exc
    except yaml.reader.ReaderError as exc:
        # A character YAML refuses (a NUL byte, say): it knows where, as a character offset.
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(Problem(source, line, f"invalid YAML: {exc.reason}")) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(source, 0, f"invalid YAML: {exc}")) from exc
    except RecursionError:
        raise ConfigError(Problem(source, 0, "invalid YAML: nested too deeply")) from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_expansion(data, source)
    return data, loader.duplicates


def _check_expansion(data: Any, source: str) -> None:
    """Refuse a document whose aliases stand for many more nodes than it writes out: what
    reads it walks every reference as a copy. Counted once per distinct node, so the count
    costs no more than the file. (A node that contains itself PyYAML refuses already.)"""
    expanded: dict[int, int] = {}
    written = 1  # each mapping or list once, with its direct children

    def size(value: Any) -> int:
        nonlocal written
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in expanded:
            return expanded[key]
        children = list(value.values()) if isinstance(value, dict) else list(value)
        written += len(children)
        expanded[key] = 1 + sum(size(child) for child in children)
        return expanded[key]

    try:
        total = size(data)
    except RecursionError:
        raise ConfigError(Problem(source, 0, "invalid YAML: nested too deeply")) from None
    allowed = max(EXPANDED_FLOOR, ALIAS_GROWTH * written)
    if total <= allowed:
        return
    line = line_of(data, 1)
    if isinstance(data, LocatedMap) and data:
        # The top-level key whose value grows the most is where to look.
        worst = max(data, key=lambda k: size(data[k]))
        line = data.line_of(worst)
    raise ConfigError(
        Problem(
            source,
            line,
            f"its aliases expand to {total:,} nodes, {total // written:,} times the {written:,}"
            f" it writes out (at most {allowed:,}): refused",
        )
    )
