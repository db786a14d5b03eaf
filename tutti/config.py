"""Configuration shapes shared by every service, as frozen dataclasses."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tutti.v1 import stage_pb2

__all__ = ["Price", "read_number", "unknown_keys"]


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
