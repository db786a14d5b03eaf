"""The router's spans and metrics, through the OpenTelemetry API (no-ops unless a provider is set)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from opentelemetry import metrics, trace

__all__ = ["RouterInstruments", "observe", "tracer"]

Attrs = Mapping[str, str]

tracer = trace.get_tracer("tutti.router")


@dataclass(frozen=True)
class RouterInstruments:
    stage_duration: metrics.Histogram
    stage_cost: metrics.Counter
    request_cost: metrics.Histogram
    cache_hits: metrics.Counter
    cache_misses: metrics.Counter
    route_cases: metrics.Counter
    errors: metrics.Counter
    circuit_rejections: metrics.Counter
    hedges: metrics.Counter

    @classmethod
    def create(cls) -> RouterInstruments:
        """Instruments of the meter provider in place now; create after telemetry set-up."""
        meter = metrics.get_meter("tutti.router")
        return cls(
            stage_duration=meter.create_histogram(
                "tutti.stage.duration", unit="ms", description="latency of one stage call"
            ),
            stage_cost=meter.create_counter(
                "tutti.stage.cost", unit="USD", description="declared cost of stage calls"
            ),
            request_cost=meter.create_histogram(
                "tutti.request.cost", unit="USD", description="cost of one request"
            ),
            cache_hits=meter.create_counter("tutti.cache.hits", description="stage cache hits"),
            cache_misses=meter.create_counter(
                "tutti.cache.misses", description="stage cache misses"
            ),
            route_cases=meter.create_counter(
                "tutti.route.cases", description="route decisions by case"
            ),
            errors=meter.create_counter(
                "tutti.request.errors", description="failed requests by code"
            ),
            circuit_rejections=meter.create_counter(
                "tutti.circuit.rejections", description="stage calls refused by an open circuit"
            ),
            hedges=meter.create_counter(
                "tutti.stage.hedged",
                description="stage calls answered after a hedged copy went out",
            ),
        )


def observe(name: str, description: str, read: Callable[[], Iterable[tuple[float, Attrs]]]) -> None:
    """An observable gauge whose values `read` gives at each collection."""

    def callback(options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        return [metrics.Observation(value, attributes) for value, attributes in read()]

    metrics.get_meter("tutti.router").create_observable_gauge(
        name, callbacks=[callback], description=description
    )
