"""The decisions a run records, node kind by node kind, on in-memory stages.

What a client reads in `execution.decisions` for the cases a loopback test would
make slow to set up: several tiers, failed and unconfident cascade steps, chained
fallbacks, and a fan-out's branches on its span.
"""

from __future__ import annotations

from typing import Any

import pytest

from router_service import FakeStages
from tests.router_service.engine.conftest import (
    CLS,
    ESCALATE,
    TEXT,
    classify,
    engine_of,
    failing,
    label_of,
    merger,
    run,
    suffix,
)
from tutti.v1 import router_pb2

Decision = router_pb2.Decision


@pytest.mark.parametrize(
    ("confidence", "threshold", "taken"),
    [(0.9, 0.7, "source"), (0.6, 0.7, "strong"), (0.2, 0.3, "both")],
)
async def test_an_escalation_names_the_tier_that_applied_or_the_highest_threshold_cleared(
    confidence: float, threshold: float, taken: str
) -> None:
    stages = FakeStages(
        source=classify("source", confidence), strong=classify("strong"), both=classify("both")
    )
    _, state = await run(engine_of(ESCALATE, stages))
    (decision,) = state.decisions
    assert (decision.kind, decision.source, decision.taken) == (
        Decision.KIND_ESCALATE,
        "source",
        taken,
    )
    assert decision.confidence == pytest.approx(confidence)
    assert decision.threshold == pytest.approx(threshold)


async def test_a_route_without_escalations_has_no_threshold() -> None:
    stages = FakeStages(triage=classify("billing", 0.2), billing=suffix("-b"), other=suffix("-o"))
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Text
        stages:
          triage: {{endpoint: x, {CLS}}}
          billing: {{endpoint: x, {TEXT}}}
          other: {{endpoint: x, {TEXT}}}
        flow: {{route: {{by: triage, cases: {{billing: billing}}, default: other}}}}
        """,
        stages,
    )
    _, state = await run(engine)
    (decision,) = state.decisions
    assert (decision.label, decision.taken, decision.threshold) == ("billing", "billing", 0.0)
    assert decision.confidence == pytest.approx(0.2)


async def test_a_cascade_records_each_step_it_moved_past_and_the_cheaper_answer_it_kept() -> None:
    """Unconfident, then failed, then a last step over the cost cap: the unconfident answer stays."""
    stages = FakeStages(broken=failing(), cheap=classify("cheap", 0.4), pricey=classify("p"))
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Classification
        stages:
          cheap: {{endpoint: x, {CLS}, price: {{per_call_usd: 0.01}}}}
          broken: {{endpoint: x, {CLS}, retry: false}}
          pricey: {{endpoint: x, {CLS}, price: {{per_call_usd: 0.06}}}}
        flow: {{cascade: {{steps: [cheap, broken, pricey], below: 0.7}}}}
        """,
        stages,
    )
    result, state = await run(engine, cost_cap=0.05)
    assert label_of(result)[0] == "cheap"
    moved, kept = state.decisions
    assert (moved.source, moved.taken, moved.reason, moved.degraded) == (
        "cheap",
        "broken",
        "",
        False,
    )
    assert moved.confidence == pytest.approx(0.4) and moved.threshold == pytest.approx(0.7)
    assert (kept.source, kept.taken, kept.degraded) == ("broken", "cheap", True)
    assert kept.reason.startswith("pricey may cost $0.06, over the cost cap of $0.05")
    assert stages["pricey"].calls == 0


async def test_a_cascade_step_that_fails_gives_its_failure_as_the_reason_to_move_on() -> None:
    stages = FakeStages(broken=failing(), strong=classify("strong"))
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Classification
        stages:
          broken: {{endpoint: x, {CLS}, retry: false}}
          strong: {{endpoint: x, {CLS}}}
        flow: {{cascade: {{steps: [broken, strong], below: 0.7}}}}
        """,
        stages,
    )
    _, state = await run(engine)
    (decision,) = state.decisions
    assert (decision.source, decision.taken) == ("broken", "strong")
    assert decision.reason == "stage 'broken': UNAVAILABLE: boom"


FALLBACK = f"""
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  first: {{endpoint: x, {TEXT}, retry: false}}
  second: {{endpoint: x, {TEXT}, retry: false}}
  third: {{endpoint: x, {TEXT}}}
flow: {{fallback: [first, second, third]}}
"""


async def test_chained_fallbacks_record_each_step_left_and_why() -> None:
    stages = FakeStages(first=failing(details="down"), second=failing(), third=suffix("-3"))
    _, state = await run(engine_of(FALLBACK, stages))
    assert [(d.source, d.taken, d.reason) for d in state.decisions] == [
        ("first", "second", "stage 'first': UNAVAILABLE: down"),
        ("second", "third", "stage 'second': UNAVAILABLE: boom"),
    ]


async def test_a_fallback_whose_first_step_answers_decides_nothing() -> None:
    stages = FakeStages(first=suffix("-1"), second=suffix("-2"), third=suffix("-3"))
    _, state = await run(engine_of(FALLBACK, stages))
    assert list(state.decisions) == []


async def test_a_fanout_span_names_the_branches_that_answered_and_those_that_failed(
    spans: Any,
) -> None:
    stages = FakeStages(a=classify("pos"), b=failing(), c=classify("pos"), merger=merger())
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Classification
        stages:
          a: {{endpoint: x, {CLS}}}
          b: {{endpoint: x, {CLS}, retry: false}}
          c: {{endpoint: x, {CLS}}}
          merger: {{endpoint: x, kind: merger}}
        flow: {{fanout: {{branches: [a, b, c], merge: {{by: merger, strategy: majority_vote}}, quorum: 2}}}}
        """,
        stages,
    )
    await run(engine)
    (fanout,) = [span for span in spans.get_finished_spans() if span.name == "fanout"]
    assert fanout.attributes["tutti.fanout.answered"] == ("a", "c")
    assert fanout.attributes["tutti.fanout.failed"] == ("b",)
    assert fanout.attributes["tutti.fanout.late"] == ()
