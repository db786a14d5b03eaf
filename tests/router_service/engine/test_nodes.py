"""Each node kind's semantics on in-memory stages: what runs, in what order, what answers."""

from __future__ import annotations

import asyncio
import bisect
import random
import typing

import grpc
import pytest

from router_service import FakeStageClient, FakeStages
from router_service.composition import NODE_KINDS
from router_service.engine import echo
from router_service.plan import Node
from tests.router_service.engine.conftest import (
    CLS,
    ESCALATE,
    OK,
    TEXT,
    classify,
    engine_of,
    failing,
    held,
    keywords,
    label_of,
    merger,
    ran,
    run,
    suffix,
    text_of,
)
from tutti.errors import FanoutQuorumError
from tutti.v1 import router_pb2


def test_every_node_kind_has_a_builder_and_the_plan_a_class() -> None:
    classes = {cls.__name__.removesuffix("Node").lower() for cls in typing.get_args(Node)}
    assert set(NODE_KINDS) == classes


async def test_a_stage_answers_and_its_run_records_model_price_and_budget() -> None:
    stages = FakeStages(a=suffix("-a"))
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Text
        stages:
          a: {{endpoint: x, {TEXT}, price: {{per_call_usd: 0.01}}, budget_ms: 1000}}
        flow: a
        """,
        stages,
    )
    result, state = await run(engine, "x", within_s=30)
    assert text_of(result) == "x-a"
    (record,) = state.stages
    assert (record.stage, record.status, record.model) == ("a", OK, "suffix-a")
    assert record.budget_ms == 1000 and record.cost_usd == pytest.approx(0.01)
    assert state.cost == pytest.approx(0.01)
    # The time left travels down as the call's timeout.
    (timeout,) = stages["a"].timeouts
    assert timeout is not None and 0 < timeout <= 30


async def test_sequence_feeds_each_output_to_the_next_stage() -> None:
    stages = FakeStages(a=suffix("-a"), b=suffix("-b"), c=suffix("-c"))
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Text
        stages:
          a: {{endpoint: x, {TEXT}}}
          b: {{endpoint: x, {TEXT}, price: {{per_call_usd: 0.01}}}}
          c: {{endpoint: x, {TEXT}}}
        flow: {{sequence: [a, b, c]}}
        """,
        stages,
    )
    result, state = await run(engine)
    assert text_of(result) == "x-a-b-c" and ran(state) == ["a", "b", "c"]
    assert state.cost == pytest.approx(0.01)


ROUTE = f"""
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  triage: {{endpoint: x, {CLS}}}
  account: {{endpoint: x, {TEXT}}}
  general: {{endpoint: x, {TEXT}}}
  strong: {{endpoint: x, {TEXT}}}
flow:
  route:
    by: triage
    cases: {{account: account}}
    default: general
    escalate: {{below: 0.5, to: strong}}
"""


def route_stages() -> FakeStages:
    return FakeStages(
        triage=keywords({"maybe": ("account", 0.3), "password": ("account", 0.9)}, ("other", 0.9)),
        account=suffix(" [account]"),
        general=suffix(" [general]"),
        strong=suffix(" [strong]"),
    )


@pytest.mark.parametrize(
    ("text", "answered", "path"),
    [
        ("my password", "account", "route:triage=account->account"),
        ("opening hours", "general", "route:triage=other->general"),
        ("maybe my password", "strong", "route:triage=account@0.30<0.5->escalate:strong"),
    ],
)
async def test_route_takes_the_labels_case_the_default_or_escalates_an_unsure_decision(
    text: str, answered: str, path: str
) -> None:
    stages = route_stages()
    result, state = await run(engine_of(ROUTE, stages), text)
    assert text_of(result).endswith(f"[{answered}]")
    assert ran(state) == ["triage", answered] and state.path == [path]


async def test_cascade_moves_past_failed_and_unconfident_steps_to_the_first_confident() -> None:
    stages = FakeStages(
        broken=failing(),
        cheap=classify("cheap", 0.4),
        mid=classify("mid", 0.8),
        strong=classify("strong", 0.99),
    )
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Classification
        stages:
          broken: {{endpoint: x, {CLS}, retry: false}}
          cheap: {{endpoint: x, {CLS}}}
          mid: {{endpoint: x, {CLS}}}
          strong: {{endpoint: x, {CLS}}}
        flow: {{cascade: {{steps: [broken, cheap, mid, strong], below: 0.7}}}}
        """,
        stages,
    )
    result, state = await run(engine)
    assert label_of(result)[0] == "mid" and ran(state) == ["broken", "cheap", "mid"]
    assert state.stages[0].status == router_pb2.StageRun.STATUS_FAILED
    assert state.path == [
        "cascade:broken failed (UNAVAILABLE)",
        "cascade:cheap@0.40<0.7",
        "cascade->mid@0.80",
    ]
    assert stages["strong"].calls == 0


@pytest.mark.parametrize(
    ("confidence", "answered"), [(0.9, "source"), (0.6, "strong"), (0.2, "both")]
)
async def test_escalate_keeps_a_confident_answer_and_sends_an_unsure_one_to_the_lowest_tier_that_applies(
    confidence: float, answered: str
) -> None:
    stages = FakeStages(
        source=classify("source", confidence), strong=classify("strong"), both=classify("both")
    )
    result, state = await run(engine_of(ESCALATE, stages))
    assert label_of(result)[0] == answered
    assert ran(state) == (["source"] if answered == "source" else ["source", answered])


FANOUT = f"""
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  a: {{endpoint: x, {CLS}}}
  b: {{endpoint: x, {CLS}}}
  c: {{endpoint: x, {CLS}}}
  merger: {{endpoint: x, kind: merger}}
flow:
  fanout:
    branches: [a, b, c]
    merge: {{by: merger, strategy: majority_vote}}
    QUORUM
"""


async def test_fanout_merges_every_branch_when_all_answer() -> None:
    stages = FakeStages(
        a=classify("pos", 0.9), b=classify("pos", 0.7), c=classify("neg", 0.6), merger=merger()
    )
    result, state = await run(engine_of(FANOUT.replace("QUORUM", ""), stages))
    assert label_of(result)[0] == "pos"
    assert sorted(ran(state)) == ["a", "b", "c", "merger"]
    assert state.path[-1] == "fanout:merged a,b,c"
    (request,) = stages["merger"].requests
    assert [c.name for c in request.candidates] == ["a", "b", "c"]


async def test_fanout_merges_at_quorum_when_a_branch_fails() -> None:
    stages = FakeStages(
        a=classify("pos", 0.9), b=failing(), c=classify("pos", 0.6), merger=merger()
    )
    result, state = await run(engine_of(FANOUT.replace("QUORUM", "quorum: 2"), stages))
    assert label_of(result)[0] == "pos"
    assert "fanout:failed b" in state.path and state.path[-1] == "fanout:merged a,c"


async def test_fanout_short_of_quorum_fails_unavailable_naming_the_missing_branches() -> None:
    stages = FakeStages(a=classify("pos"), b=failing(), c=failing(), merger=merger())
    with pytest.raises(FanoutQuorumError) as caught:
        await run(engine_of(FANOUT.replace("QUORUM", "quorum: 2"), stages))
    assert caught.value.code is grpc.StatusCode.UNAVAILABLE
    assert "b" in str(caught.value) and "c" in str(caught.value)
    assert stages["merger"].calls == 0


async def test_split_sends_each_request_to_the_branch_its_seeded_draw_falls_in() -> None:
    stages = FakeStages(stable=FakeStageClient(invoke=echo), canary=FakeStageClient(invoke=echo))
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Text
        stages:
          stable: {{endpoint: x, {TEXT}}}
          canary: {{endpoint: x, {TEXT}}}
        flow: {{split: [{{weight: 3, to: stable}}, {{weight: 1, to: canary}}]}}
        """,
        stages,
        rng=random.Random(7),
    )
    n = 400
    for _ in range(n):
        await run(engine)
    draws = random.Random(7)
    expected = sum(bisect.bisect_right([0.75, 1.0], draws.random()) == 1 for _ in range(n))
    assert stages["canary"].calls == expected and stages["stable"].calls == n - expected
    # Binomial(400, 0.25): the seeded count is a plausible one, not a degenerate split.
    assert 60 <= expected <= 140


async def test_fallback_answers_from_the_next_step_when_the_first_fails() -> None:
    stages = FakeStages(primary=failing(grpc.StatusCode.INTERNAL), backup=suffix(" (backup)"))
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Text
        stages:
          primary: {{endpoint: x, {TEXT}}}
          backup: {{endpoint: x, {TEXT}}}
        flow: {{fallback: [primary, backup]}}
        """,
        stages,
    )
    result, state = await run(engine)
    assert text_of(result) == "x (backup)"
    assert state.path == ["fallback:primary failed (INTERNAL)->backup"]


async def test_a_route_nested_in_a_fanout_nested_in_a_sequence() -> None:
    release = asyncio.Event()
    release.set()
    stages = FakeStages(
        prep=suffix(" please"),
        triage=keywords({"refund": ("billing", 0.9)}, ("other", 0.9)),
        billing=held(release, classify("refund", 0.8)),
        other=classify("other", 0.5),
        second=classify("refund", 0.6),
        merger=merger(),
    )
    engine = engine_of(
        f"""
        composition: t
        input: tutti.v1.Text
        output: tutti.v1.Classification
        stages:
          prep: {{endpoint: x, {TEXT}}}
          triage: {{endpoint: x, {CLS}}}
          billing: {{endpoint: x, {CLS}}}
          other: {{endpoint: x, {CLS}}}
          second: {{endpoint: x, {CLS}}}
          merger: {{endpoint: x, kind: merger}}
        flow:
          sequence:
            - prep
            - fanout:
                branches:
                  routed: {{route: {{by: triage, cases: {{billing: billing}}, default: other}}}}
                  second: second
                merge: {{by: merger, strategy: confidence_weighted_vote}}
        """,
        stages,
    )
    result, state = await run(engine, "I want a refund")
    assert label_of(result)[0] == "refund"
    assert "route:triage=billing->billing" in state.path
    assert stages["other"].calls == 0
