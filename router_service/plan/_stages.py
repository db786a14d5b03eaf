"""What a composition declares about its stages and its request: specs, limits and policies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tutti.config import Price

__all__ = [
    "Budget",
    "CacheBackend",
    "CachePolicy",
    "CircuitPolicy",
    "HedgePolicy",
    "RetryPolicy",
    "StageSpec",
]


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC's transparent retries for one stage: a failed attempt with one of `codes` is sent again."""

    attempts: int = 3
    backoff_ms: float = 20.0
    max_backoff_ms: float = 500.0
    codes: tuple[str, ...] = ("UNAVAILABLE",)


@dataclass(frozen=True)
class HedgePolicy:
    """For idempotent stages: a second copy goes out when the first has not answered in `delay_ms`."""

    attempts: int = 2
    delay_ms: float = 50.0


@dataclass(frozen=True)
class CircuitPolicy:
    """Open after `failures` in a row, or when `error_rate` of the last `window` calls failed;
    after `open_s`, one probe call decides whether it closes again."""

    failures: int = 5
    error_rate: float = 0.5
    window: int = 20
    open_s: float = 5.0


@dataclass(frozen=True)
class Budget:
    """End-to-end limits of one request; None means no limit."""

    latency_ms: float | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class CachePolicy:
    """How long a stage's outputs are kept, and how many of them (in process)."""

    ttl_s: float = 300.0
    max_entries: int = 10_000


@dataclass(frozen=True)
class CacheBackend:
    """Where stage results are cached: in this process, or in a Redis shared by replicas."""

    backend: str = "memory"
    url: str = ""


DEFAULT_RETRY = RetryPolicy()
DEFAULT_CIRCUIT = CircuitPolicy()


@dataclass(frozen=True)
class StageSpec:
    """One stage as the composition declares it."""

    name: str
    endpoint: str
    line: int
    kind: str = "model"
    input: str = ""
    output: str = ""
    budget_ms: float = 0.0
    price: Price | None = None
    cache: CachePolicy | None = None
    validate: bool = True
    # A specialist configuration that `tutti up` uses to start this stage.
    serve: Mapping[str, Any] | None = field(default=None, compare=False)
    # On by default: a failed attempt on UNAVAILABLE (a dead replica) is sent again.
    retry: RetryPolicy | None = DEFAULT_RETRY
    hedge: HedgePolicy | None = None
    idempotent: bool = False
    circuit: CircuitPolicy | None = DEFAULT_CIRCUIT

    @property
    def is_merger(self) -> bool:
        return self.kind == "merger"
