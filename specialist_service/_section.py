"""Typed reads of a backend's own config section; each problem is reported, never raised.

A read that finds a mistake reports it (as `<backend>.<key>`, at the key's
line) and returns the default, so one pass over a section names every
mistake in it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from tutti.config import Problems

__all__ = ["Section"]

_MISSING = object()


class Section:
    """The `openai:` (or `oip:`, `gguf:`) mapping of one specialist config."""

    def __init__(
        self,
        name: str,
        data: Mapping[str, object],
        problems: Problems,
        known: frozenset[str],
        *,
        base_dir: Path,
    ) -> None:
        self.name = name
        self.data = data
        self.problems = problems
        self.base_dir = base_dir
        for key in self.data:
            if key not in known:
                self.report(key, f"unknown key; known keys are {', '.join(sorted(known))}")

    @property
    def stage(self) -> str:
        return self.problems.stage

    def report(self, key: str, message: str) -> None:
        self.problems.report(f"{self.name}.{key}" if key else self.name, message)

    def _get(self, key: str, required: bool) -> object:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.report(key, "missing required key")
            return _MISSING
        return value

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or not value:
            self.report(key, f"must be a non-empty string (quote numbers), not {value!r}")
            return default
        return value

    def number(
        self, key: str, default: float, *, minimum: float = 0.0, above: bool = False
    ) -> float:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.report(key, f"must be a number, not {value!r}")
            return default
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            bound = f"> {minimum:g}" if above else f">= {minimum:g}"
            self.report(key, f"must be a finite number {bound}, not {value!r}")
            return default
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.report(key, f"must be a whole number >= {minimum}, not {value!r}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.report(key, f"must be true or false, not {value!r}")
            return default
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        """One of `options`; the first is the default."""
        value = self.text(key, options[0])
        if value not in options:
            self.report(key, f"must be one of {', '.join(options)}, not {value!r}")
            return options[0]
        return value

    def path(self, key: str, *, required: bool = False) -> Path | None:
        """A file path; relative paths resolve against the config file's folder."""
        value = self.text(key, required=required)
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def mapping(self, key: str) -> Mapping[str, object]:
        value = self._get(key, False)
        if value is _MISSING:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            self.report(key, f"must be a mapping, not {value!r}")
            return {}
        return value

    def child(self, key: str, known: frozenset[str]) -> Section:
        """The mapping at `key` (empty when absent) as a Section of its own: `openai.retry`."""
        return Section(
            f"{self.name}.{key}", self.mapping(key), self.problems, known, base_dir=self.base_dir
        )
