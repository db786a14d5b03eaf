"""Config primitives every service shares: prices, numbers, `imports:`, and collecting problems."""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutti.errors import ConfigError, Problem
from tutti.located_yaml import LocatedMap, line_of
from tutti.v1 import stage_pb2

__all__ = [
    "Price",
    "Problems",
    "import_message_modules",
    "read_number",
    "search_beside",
    "unknown_keys",
]


@dataclass(frozen=True)
class Price:
    """What one call of a model costs, in USD."""

    per_call_usd: float = 0.0
    per_1k_input_tokens_usd: float = 0.0
    per_1k_output_tokens_usd: float = 0.0

    def cost_usd(self, input_tokens: int = 0, output_tokens: int = 0) -> float:
        return (
            self.per_call_usd
            + input_tokens * self.per_1k_input_tokens_usd / 1000.0
            + output_tokens * self.per_1k_output_tokens_usd / 1000.0
        )

    @classmethod
    def from_proto(cls, price: stage_pb2.Price) -> Price:
        return cls(
            price.per_call_usd, price.per_1k_input_tokens_usd, price.per_1k_output_tokens_usd
        )

    def to_proto(self) -> stage_pb2.Price:
        return stage_pb2.Price(
            per_call_usd=self.per_call_usd,
            per_1k_input_tokens_usd=self.per_1k_input_tokens_usd,
            per_1k_output_tokens_usd=self.per_1k_output_tokens_usd,
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], report: Callable[[str, str], None]) -> Price:
        """Build from a YAML mapping; `report(key, message)` records each problem."""
        for key in unknown_keys(
            data, ("per_call_usd", "per_1k_input_tokens_usd", "per_1k_output_tokens_usd")
        ):
            report(key, f"unknown price key '{key}'")
        values = {
            key: read_number(data, key, report, minimum=0.0)
            for key in ("per_call_usd", "per_1k_input_tokens_usd", "per_1k_output_tokens_usd")
        }
        return cls(**{k: v for k, v in values.items() if v is not None})


def unknown_keys(data: Mapping[str, Any], allowed: tuple[str, ...]) -> list[str]:
    return [key for key in data if key not in allowed]


def read_number(
    data: Mapping[str, Any],
    key: str,
    report: Callable[[str, str], None],
    minimum: float | None = None,
    exclusive: bool = False,
) -> float | None:
    """A number at `key`, or None when absent; records a problem when it is not a valid one."""
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        report(key, f"'{key}' must be a number, not {value!r}")
        return None
    # YAML reads .nan and .inf as floats; every comparison with NaN is False, so check first.
    if not math.isfinite(value):
        report(key, f"'{key}' must be a finite number, not {value!r}")
        return None
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        bound = "greater than" if exclusive else "at least"
        report(key, f"'{key}' must be {bound} {minimum:g}, not {value!r}")
        return None
    return float(value)


class Problems:
    """Every problem found in one configuration file, each at its line (or its dotted key's).

    Readers report and carry on with a default, so that one load names every
    mistake of the file at once instead of the first.
    """

    def __init__(
        self, source: str, stage: str = "", lines: Mapping[str, int] | None = None
    ) -> None:
        self.source = source
        self.stage = stage
        self.lines: Mapping[str, int] = lines or {}
        self.found: list[Problem] = []

    def report(self, key: str, message: str, line: int | None = None) -> None:
        """`key: message` at `line`, else at the key's line (or the nearest parent's)."""
        self.add(key, f"{key}: {message}" if key else message, line)

    def add(self, key: str, message: str, line: int | None = None) -> None:
        """`message` as it is (it names its key itself) at `key`'s line, or at `line`."""
        self.found.append(
            Problem(self.source, self._line(key) if line is None else line, message, self.stage)
        )

    def at_line(self, line: int, message: str, stage: str | None = None) -> None:
        """`message` at `line` (of the file, or of `stage` when it is given)."""
        self.found.append(
            Problem(self.source, line, message, self.stage if stage is None else stage)
        )

    def located(self, mapping: object, stage: str | None = None) -> Callable[[str, str], None]:
        """A `report(key, message)` for the readers above that puts each problem at the line
        of `key` inside `mapping`, a mapping read by tutti.located_yaml."""

        def report(key: str, message: str) -> None:
            line = mapping.line_of(key) if isinstance(mapping, LocatedMap) else line_of(mapping)
            self.at_line(line, message, stage)

        return report

    def under(self, prefix: str) -> Callable[[str, str], None]:
        """A `report(key, message)` for the readers above (read_number, Price.from_mapping),
        whose messages name their key: each lands on the line of `prefix.key`."""
        return lambda key, message: self.add(f"{prefix}.{key}" if prefix else key, message)

    def _line(self, key: str) -> int:
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return 0

    def fail(self, key: str, message: str) -> ConfigError:
        """Report a problem past which reading cannot go; the error lists every one so far."""
        self.report(key, message)
        return ConfigError(self.found)

    def raise_if_any(self) -> None:
        if self.found:
            raise ConfigError(self.found)


def search_beside(folder: Path) -> None:
    """Let a composition's own modules (a python factory, its siblings, its generated `_pb2`)
    be imported from its folder, as `tutti up` and `tutti check` find them: after the
    installed packages, which they cannot shadow. The entry stays for the process's life."""
    entry = str(folder.resolve())
    if entry not in sys.path:
        sys.path.append(entry)


def import_message_modules(
    modules: object, report: Callable[[int | None, str], None], beside: Path | None = None
) -> tuple[str, ...]:
    """Import the modules of an `imports:` list, so that their message types are registered.

    `report(index, message)` records a problem: index None for the list itself,
    else the position of the module that failed. Returns the names imported.
    `beside` (the composition's folder) is searched after the Python path, as
    `tutti up` does for the services it starts: a user's generated `_pb2`
    modules may live next to the composition.
    """
    if modules is None:
        return ()
    if not isinstance(modules, list | tuple) or not all(isinstance(m, str) for m in modules):
        # A bare string would otherwise be imported one character at a time.
        report(None, "'imports' must be a list of module names such as [acme.v1.orders_pb2]")
        return ()
    if beside is not None and modules:
        search_beside(beside)
    imported: list[str] = []
    for index, module in enumerate(modules):
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - a module's own code may raise anything
            report(
                index,
                f"cannot import '{module}' for its message types: {type(exc).__name__}: {exc}",
            )
        else:
            imported.append(module)
    return tuple(imported)
