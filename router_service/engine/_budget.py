"""Every decision about a request's time and money.

The request's deadline and cost cap; whether a node still fits what is
left (and the degraded answer when it does not); the checks before a stage
call (time left, price against the cap) and after it (what its usage
cost); a stage's cost from its price or usage; whether a call ran over its
stage budget; and the window a fan-out waits for its branches.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from opentelemetry import trace

from router_service.engine._run import Run
from router_service.plan import Budget, Expectation, FanoutNode, Node, StageProfile, StageSpec
from tutti.errors import CostCapError, StageDeadlineError
from tutti.v1 import router_pb2, stage_pb2

__all__ = ["Budgets", "request_cost_cap", "request_deadline"]

StageRun = router_pb2.StageRun
# Floating-point sums of prices must not fail a request that is exactly at its cap.
_SLACK_USD = 1e-12


def request_deadline(budget: Budget, time_remaining: float | None) -> float | None:
    """The request's deadline (a time.monotonic() value): the caller's or the composition's, the sooner."""
    limits = [
        t for t in (time_remaining, (budget.latency_ms or 0) / 1000.0 or None) if t is not None
    ]
    return time.monotonic() + min(limits) if limits else None


def request_cost_cap(budget: Budget, max_cost_usd: float) -> float | None:
    """The request's cost cap: the caller's (0 for none) or the composition's, the lower."""
    caps = [c for c in (max_cost_usd or None, budget.cost_usd) if c is not None]
    return min(caps) if caps else None


def _over_cap(run: Run, more_usd: float) -> bool:
    return run.cost_cap is not None and run.cost + more_usd > run.cost_cap + _SLACK_USD


class Budgets:
    """One composition's expectations of its nodes, held against each request's deadline and cap."""

    def __init__(
        self, expected: Mapping[int, Expectation], profiles: Mapping[str, StageProfile]
    ) -> None:
        self._expected = expected
        self._profiles = profiles

    # -- nodes ----------------------------------------------------------------

    def fits(self, node: Node, run: Run) -> str:
        """Why `node` no longer fits the request's time or money; "" when it does."""
        expected = self._expected[id(node)]
        remaining = run.remaining()
        if remaining is not None and expected.ms / 1000.0 > remaining:
            return f"{node.label} expects {expected.ms:g} ms but {remaining * 1000.0:.0f} ms remain"
        if run.cost_cap is not None and _over_cap(run, expected.usd):
            return (
                f"{node.label} may cost ${expected.usd:g}, over the cost cap of ${run.cost_cap:g}"
                f" (spent ${run.cost:g})"
            )
        return ""

    def degrade(self, node: Node, reason: str, run: Run) -> None:
        """Record that `node` was skipped for a cheaper answer."""
        run.stages.append(
            StageRun(stage=node.label, status=StageRun.STATUS_DEGRADED, detail=reason)
        )
        run.path.append(f"degraded:{node.label}")
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes({"tutti.degraded": reason, "tutti.degraded.skipped": node.label})

    def before_fanout(self, node: FanoutNode, run: Run) -> None:
        """Refuse a fan-out whose branches together would pass the cap: they run at once, so
        each one's own check cannot see what the others spend."""
        expected = self._expected[id(node)]
        if run.cost_cap is not None and _over_cap(run, expected.usd):
            raise CostCapError(
                f"{node.label} may cost ${expected.usd:g}, which would take the request past"
                f" its cost cap of ${run.cost_cap:g} (spent ${run.cost:g})"
            )

    def fanout_end(self, node: FanoutNode, run: Run) -> float | None:
        """When a fan-out stops waiting for branches (a time.monotonic() value), if ever."""
        remaining = run.remaining()
        if remaining is not None:
            # Leave the merger its time, so that what arrived can still be merged.
            merger_s = self._profiles[node.merger.name].expected_ms / 1000.0
            remaining = max(0.0, remaining - merger_s)
        window = node.budget_ms / 1000.0 if node.budget_ms else None
        limits = [t for t in (window, remaining) if t is not None]
        return time.monotonic() + min(limits) if limits else None

    # -- stage calls ----------------------------------------------------------

    def before_call(self, spec: StageSpec, run: Run) -> float | None:
        """The call's timeout: the time left; fails when none is left or its price passes the cap."""
        remaining = run.remaining()
        if remaining is not None and remaining <= 0:
            run.stages.append(
                StageRun(
                    stage=spec.name,
                    status=StageRun.STATUS_DEADLINE_EXCEEDED,
                    budget_ms=spec.budget_ms,
                    detail="no time left before the call",
                )
            )
            raise StageDeadlineError(
                spec.name, "the request's deadline passed before this stage ran"
            )
        price = self._profiles[spec.name].price
        if run.cost_cap is not None and _over_cap(run, price.per_call_usd):
            raise CostCapError(
                f"stage '{spec.name}' costs ${price.per_call_usd:g} a call, which would take the"
                f" request past its cost cap of ${run.cost_cap:g} (spent ${run.cost:g})"
            )
        return remaining

    def charge(self, spec: StageSpec, run: Run, usage: stage_pb2.Usage | None = None) -> float:
        """Add a call's cost to the request and return it: from the declared price (tokens
        included) when the YAML sets one, else what the stage reported."""
        price = self._profiles[spec.name].price
        if usage is None:
            cost = price.per_call_usd
        elif spec.price:
            cost = price.cost_usd(usage.input_tokens, usage.output_tokens)
        else:
            cost = usage.cost_usd
        run.cost += cost
        return cost

    def after_call(self, spec: StageSpec, run: Run) -> None:
        """Fail loudly when a stage's reported usage took the request past its cap."""
        if run.cost_cap is not None and _over_cap(run, 0.0):
            raise CostCapError(
                f"stage '{spec.name}' took the request to ${run.cost:g}, past its cost cap of"
                f" ${run.cost_cap:g}"
            )

    @staticmethod
    def over_budget(spec: StageSpec, latency_ms: float) -> bool:
        """Whether a call took longer than its stage's latency budget."""
        return bool(spec.budget_ms) and latency_ms > spec.budget_ms

    @staticmethod
    def out_of_time(run: Run) -> bool:
        """Whether the request's deadline has passed."""
        remaining = run.remaining()
        return remaining is not None and remaining <= 0
