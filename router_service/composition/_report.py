"""Problems found while reading a composition, collected with file and line."""

from __future__ import annotations

from typing import Any

from tutti.errors import Problem
from tutti.located_yaml import LocatedMap, line_of

__all__ = ["Reporter"]


class Reporter:
    """Collects problems with file and line, so that loading reports all of them at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, line: int, message: str, stage: str = "") -> None:
        self.problems.append(Problem(self.source, line, message, stage))

    def at(self, mapping: Any, stage: str = "") -> Any:
        """A `report(key, message)` callback locating each key inside `mapping`."""

        def report(key: str, message: str) -> None:
            line = mapping.line_of(key) if isinstance(mapping, LocatedMap) else line_of(mapping)
            self.add(line, message, stage)

        return report
