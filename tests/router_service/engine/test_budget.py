"""Budgets on in-memory stages: deadlines, cost caps, degraded answers and fan-out windows."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from router_service import FakeStages, Run
from router_service.engine import request_cost_cap, request_deadline
from router_service.plan import Budget, StageProfile
from tests.router_service.engine.conftest import (
    classify,
    engine_of,
    held,
    label_of,
    merger,
    ran,
    run,
    suffix,
)
from tutti.errors import CostCapError, FanoutQuorumError, StageDeadlineError
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2

CLS = "input: tutti.v1.Text, output: tutti.v1.Classification"
DEGRADED = router_pb2.StageRun.STATUS_DEGRADED

DEGRADE = f"""
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
budget: {{latency_ms: 1000, cost_usd: 0.05}}
stages:
  cheap: {{endpoint: x, {CLS}, price: {{per_call_usd: 0.002}}, budget_ms: 500}}
  slow_strong: {{endpoint: x, {CLS}}}
  pricey_strong: {{endpoint: x, {CLS}, price: {{per_call_usd: 0.06}}}}
  fine_strong: {{endpoint: x, {CLS}, price: {{per_call_usd: 0.01}}}}
flows:
  too_slow: {{escalate: {{from: cheap, tiers: [{{below: 0.7, to: slow_strong}}]}}}}
  too_dear: {{escalate: {{from: cheap, tiers: [{{below: 0.7, to: pricey_strong}}]}}}}
  affordable: {{escalate: {{from: cheap, tiers: [{{below: 0.7, to: fine_strong}}]}}}}
  cascade_too_dear: {{cascade: {{steps: [cheap, pricey_strong], below: 0.7}}}}
  route_too_dear: {{route: {{by: cheap, default: fine_strong, escalate: {{below: 0.7, to: pricey_strong}}}}}}
flow: FLOW
"""
# What Describe would have said: the slow model's card expects 5 s.
CARDS = {"slow_strong": StageProfile(expected_ms=5000)}


def degrade_stages() -> FakeStages:
    return FakeStages(
        cheap=classify("cheap", 0.3),
        slow_strong=classify("strong", 0.99),
        pricey_strong=classify("strong", 0.99),
        fine_strong=classify("strong", 0.99),
    )


def degraded(state: object) -> list[router_pb2.StageRun]:
    return [s for s in state.stages if s.status == DEGRADED]  # type: ignore[attr-defined]


async def test_an_escalation_that_cannot_finish_in_time_is_skipped_and_marked_degraded() -> None:
    stages = degrade_stages()
    engine = engine_of(DEGRADE.replace("FLOW", "too_slow"), stages, described=CARDS)
    result, state = await run(engine, within_s=1.0)
    assert label_of(result)[0] == "cheap"
    (skipped,) = degraded(state)
    assert skipped.stage == "slow_strong" and "expects 5000 ms" in skipped.detail
    assert "degraded:slow_strong" in state.path and stages["slow_strong"].calls == 0


@pytest.mark.parametrize("flow", ["too_dear", "cascade_too_dear", "route_too_dear"])
async def test_a_step_over_the_cost_cap_is_skipped_for_the_cheaper_answer(flow: str) -> None:
    stages = degrade_stages()
    result, state = await run(engine_of(DEGRADE.replace("FLOW", flow), stages), cost_cap=0.05)
    assert label_of(result)[0] == "cheap" or flow == "route_too_dear"
    (skipped,) = degraded(state)
    assert "over the cost cap of $0.05" in skipped.detail
    assert stages["pricey_strong"].calls == 0


async def test_an_affordable_escalation_runs_and_costs_add_up() -> None:
    stages = degrade_stages()
    result, state = await run(
        engine_of(DEGRADE.replace("FLOW", "affordable"), stages), cost_cap=0.05
    )
    assert label_of(result)[0] == "strong" and ran(state) == ["cheap", "fine_strong"]
    assert state.cost == pytest.approx(0.012)


async def test_a_request_whose_cheapest_path_is_over_the_cap_fails_naming_the_cap() -> None:
    stages = degrade_stages()
    with pytest.raises(CostCapError) as caught:
        await run(engine_of(DEGRADE.replace("FLOW", "too_dear"), stages), cost_cap=0.001)
    assert caught.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "cost cap of $0.001" in str(caught.value) and stages["cheap"].calls == 0


async def test_token_usage_that_takes_a_request_past_its_cap_fails_after_the_call() -> None:
    stages = FakeStages(wordy=suffix("!", input_tokens=1000))
    engine = engine_of(
        """
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Text
        stages:
          wordy: {endpoint: x, input: tutti.v1.Text, output: tutti.v1.Text,
                  price: {per_call_usd: 0.001, per_1k_input_tokens_usd: 100.0}}
        flow: wordy
        """,
        stages,
    )
    with pytest.raises(CostCapError) as caught:
        await run(engine, cost_cap=0.05)
    assert "stage 'wordy' took the request to $100.001" in str(caught.value)


CAPS = f"""
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  a: {{endpoint: x, {CLS}, price: {{per_call_usd: 0.03}}}}
  b: {{endpoint: x, {CLS}, price: {{per_call_usd: 0.03}}}}
  merger: {{endpoint: x, kind: merger}}
flow: {{fanout: {{branches: [a, b], merge: {{by: merger, strategy: majority_vote}}, WINDOW}}}}
"""


async def test_a_fanout_whose_branches_together_pass_the_cap_is_refused_before_any_branch_runs() -> (
    None
):
    stages = FakeStages(a=classify("a"), b=classify("b"), merger=merger())
    with pytest.raises(CostCapError) as caught:
        await run(engine_of(CAPS.replace(", WINDOW", ""), stages), cost_cap=0.05)
    assert "cost cap of $0.05" in str(caught.value)
    assert stages["a"].calls == 0 and stages["b"].calls == 0


async def test_a_fanout_merges_what_arrived_when_its_window_closes_and_cancels_the_late_branch() -> (
    None
):
    never = asyncio.Event()
    stages = FakeStages(a=classify("pos"), b=held(never, classify("neg")), merger=merger())
    engine = engine_of(CAPS.replace("WINDOW", "quorum: 1, budget_ms: 20"), stages)
    result, state = await run(engine)
    assert label_of(result)[0] == "pos"
    assert "fanout:late b" in state.path and state.path[-1] == "fanout:merged a"
    assert stages["b"].cancelled == 1


async def test_a_fanout_short_of_quorum_when_its_window_closes_fails_deadline_exceeded() -> None:
    never = asyncio.Event()
    stages = FakeStages(a=classify("pos"), b=held(never, classify("neg")), merger=merger())
    engine = engine_of(CAPS.replace("WINDOW", "quorum: 2, budget_ms: 20"), stages)
    with pytest.raises(FanoutQuorumError) as caught:
        await run(engine)
    assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED and "b" in str(caught.value)


ONE = f"""
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  a: {{endpoint: x, {CLS}, budget_ms: 5}}
flow: a
"""


async def test_a_stage_after_the_deadline_is_not_called_and_is_recorded_deadline_exceeded() -> None:
    stages = FakeStages(a=classify("a"))
    state = Run(deadline=time.monotonic() - 1.0, cost_cap=None)
    with pytest.raises(StageDeadlineError):
        await engine_of(ONE, stages).run(pack(payloads_pb2.Text(text="x")), state)
    assert stages["a"].calls == 0
    (record,) = state.stages
    assert record.status == router_pb2.StageRun.STATUS_DEADLINE_EXCEEDED
    assert record.detail == "no time left before the call"


async def test_a_stage_that_outlives_the_deadline_fails_deadline_exceeded() -> None:
    never = asyncio.Event()
    stages = FakeStages(a=held(never, classify("a")))
    with pytest.raises(StageDeadlineError) as caught:
        await run(engine_of(ONE, stages), within_s=0.02)
    assert "no answer within the deadline" in str(caught.value)
    assert stages["a"].cancelled == 0  # it timed out at the client, as over gRPC


def test_the_deadline_is_the_callers_or_the_compositions_whichever_is_sooner() -> None:
    now = time.monotonic()
    assert request_deadline(Budget(), None) is None
    soon = request_deadline(Budget(latency_ms=800), 5.0)
    assert soon is not None and now + 0.8 <= soon < now + 5.0
    caller = request_deadline(Budget(latency_ms=800), 0.1)
    assert caller is not None and caller < soon


def test_the_cost_cap_is_the_callers_or_the_compositions_whichever_is_lower() -> None:
    assert request_cost_cap(Budget(), 0.0) is None
    assert request_cost_cap(Budget(cost_usd=0.05), 0.0) == 0.05
    assert request_cost_cap(Budget(cost_usd=0.05), 0.01) == 0.01
    assert request_cost_cap(Budget(cost_usd=0.05), 0.5) == 0.05
