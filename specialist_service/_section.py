"""Typed reads of a backend's own config section, with errors naming `<backend>.<key>` and line."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from specialist_service._config import SpecialistConfig
from tutti.errors import ConfigError

__all__ = ["Section"]

_MISSING = object()


class Section:
    """The `openai:` (or `oip:`, `gguf:`) mapping of one specialist config."""

    def __init__(
        self,
        config: SpecialistConfig,
        known: frozenset[str],
        *,
        name: str = "",
        data: Mapping[str, object] | None = None,
    ) -> None:
        self.config = config
        self.name = name or config.backend
        self.data = config.section if data is None else data
        for key in self.data:
            if key not in known:
                raise self.error(key, f"unknown key; known keys are {', '.join(sorted(known))}")

    def error(self, key: str, message: str) -> ConfigError:
        return self.config.error(f"{self.name}.{key}" if key else self.name, message)

    def _get(self, key: str, required: bool) -> object:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise self.error(key, "missing required key")
            return _MISSING
        return value

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or not value:
            raise self.error(key, f"must be a non-empty string (quote numbers), not {value!r}")
        return value

    def number(
        self, key: str, default: float, *, minimum: float = 0.0, above: bool = False
    ) -> float:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"must be a number, not {value!r}")
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            bound = f"> {minimum:g}" if above else f">= {minimum:g}"
            raise self.error(key, f"must be a finite number {bound}, not {value!r}")
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"must be a whole number >= {minimum}, not {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        """One of `options`; the first is the default."""
        value = self.text(key, options[0])
        if value not in options:
            raise self.error(key, f"must be one of {', '.join(options)}, not {value!r}")
        return value

    def path(self, key: str, *, required: bool = False) -> Path | None:
        """A file path; relative paths resolve against the config file's folder."""
        value = self.text(key, required=required)
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.config.base_dir / path

    def mapping(self, key: str) -> Mapping[str, object]:
        value = self._get(key, False)
        if value is _MISSING:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise self.error(key, f"must be a mapping, not {value!r}")
        return value

    def child(self, key: str, known: frozenset[str]) -> Section:
        """The mapping at `key` (empty when absent) as a Section of its own: `openai.retry`."""
        return Section(self.config, known, name=f"{self.name}.{key}", data=self.mapping(key))

    def strings(self, key: str) -> list[str]:
        value = self._get(key, False)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "must be a list of non-empty strings")
        return list(value)
