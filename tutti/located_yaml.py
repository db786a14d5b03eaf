"""YAML loading that remembers the line of every mapping, key and list item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from tutti.errors import ConfigError, Problem

__all__ = ["LocatedList", "LocatedMap", "line_of", "load_located"]


class LocatedMap(dict[str, Any]):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    """A list that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def line_of(value: Any, default: int = 0) -> int:
    return getattr(value, "line", default) or default


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds LocatedMap/LocatedList and rejects duplicate keys."""

    source = "<composition>"
    duplicates: list[Problem]

    # Generators, as PyYAML's own constructors are: yielding the empty container first
    # lets recursive structures refer to it before it is filled.
    def construct_located_map(self, node: yaml.MappingNode) -> Iterator[LocatedMap]:
        result = LocatedMap()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        yield result
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.duplicates.append(Problem(self.source, line, f"key {key!r} must be a string"))
                key = str(key)
            if key in result:
                first = result.key_lines[key]
                self.duplicates.append(
                    Problem(
                        self.source, line, f"duplicate key '{key}' (first defined on line {first})"
                    )
                )
                continue
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line

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
    loader = _Loader(text)
    loader.source = source
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(Problem(source, line, f"invalid YAML: {exc.problem or exc}")) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(source, 0, f"invalid YAML: {exc}")) from exc
    finally:
        loader.dispose()
    return data, loader.duplicates
