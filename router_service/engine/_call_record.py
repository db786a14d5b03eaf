"""What a stage call leaves behind: its StageRun, metrics, span attributes and mapped status."""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc
from opentelemetry import trace

from router_service._telemetry import RouterInstruments
from router_service.engine._budget import Budgets
from router_service.engine._client import StageClientError
from router_service.engine._run import Run
from router_service.plan import StageSpec
from tutti.errors import StageCallError, StageDeadlineError, StageError, without_addresses
from tutti.v1 import router_pb2

__all__ = ["PASSED_THROUGH", "StageRecords"]

StageRun = router_pb2.StageRun
_STATUS_NAMES = {value: name for name, value in StageRun.Status.items()}
# Stage statuses a client may see as they are; any other becomes UNAVAILABLE.
PASSED_THROUGH = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.INTERNAL,
    }
)
log = logging.getLogger("tutti.router")


class StageRecords:
    """Writes each call's StageRun into the request, with its metrics and span attributes."""

    def __init__(self, instruments: RouterInstruments, tracing: bool) -> None:
        self.instruments = instruments
        self._tracing = tracing
        self._labels: dict[tuple[str, int], dict[str, str]] = {}

    def record(
        self,
        run: Run,
        spec: StageSpec,
        started: float,
        status: router_pb2.StageRun.Status,
        **fields: Any,
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000.0
        over_budget = Budgets.over_budget(spec, latency_ms)
        record = StageRun(
            stage=spec.name,
            status=status,
            latency_ms=latency_ms,
            budget_ms=spec.budget_ms,
            over_budget=over_budget,
            **fields,
        )
        run.stages.append(record)
        labels = self._labels.get((spec.name, status))
        if labels is None:
            labels = {"tutti.stage": spec.name, "tutti.status": _STATUS_NAMES[status]}
            self._labels[(spec.name, status)] = labels
        self.instruments.stage_duration.record(latency_ms, labels)
        if record.cost_usd:
            self.instruments.stage_cost.add(record.cost_usd, {"tutti.stage": spec.name})
        if not self._tracing:
            return
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(
                {
                    "tutti.stage": spec.name,
                    "tutti.budget_ms": spec.budget_ms,
                    "tutti.elapsed_ms": latency_ms,
                    "tutti.over_budget": over_budget,
                    "tutti.cost_usd": record.cost_usd,
                    "tutti.cache_hit": record.cache_hit,
                    "gen_ai.request.model": record.model,
                    "tutti.status": _STATUS_NAMES[status],
                }
            )

    def failed(
        self, spec: StageSpec, run: Run, started: float, error: StageClientError
    ) -> StageError:
        """Record a failed call and return the error the request fails with."""
        code = error.code
        # A stage's own words reach the client only in part: it may not be a Tutti service,
        # and where it runs (grpc's transport errors name the address) stays in the log.
        details = without_addresses(error.details or code.name)[:200]
        if code is grpc.StatusCode.DEADLINE_EXCEEDED or (
            code is grpc.StatusCode.CANCELLED and Budgets.out_of_time(run)
        ):
            self.record(run, spec, started, StageRun.STATUS_DEADLINE_EXCEEDED, detail=details)
            return StageDeadlineError(spec.name, f"no answer within the deadline ({details})")
        self.record(run, spec, started, StageRun.STATUS_FAILED, detail=f"{code.name}: {details}")
        log.warning("stage '%s' failed: %s: %s", spec.name, code.name, error.details)
        # Codes that would mean something else coming from the router become UNAVAILABLE.
        passed = code if code in PASSED_THROUGH else grpc.StatusCode.UNAVAILABLE
        return StageCallError(
            spec.name, passed, f"{code.name}: {details}" if passed is not code else details
        )
