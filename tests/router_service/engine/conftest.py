"""Engines on in-memory stages: compositions compiled from YAML text, stages answered by FakeStageClient."""

from __future__ import annotations

import asyncio
import random
import textwrap
import time
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from merger_service import MergerServicer
from router_service import (
    Engine,
    FakeStageClient,
    FakeStages,
    Run,
    compile_composition,
    read_composition,
)
from router_service.cache import build_caches
from router_service.engine import Result, StageClientError, answer
from router_service.plan import StageProfile
from tutti.messages import MessageTypes, pack
from tutti.v1 import payloads_pb2, router_pb2, stage_pb2

OK = router_pb2.StageRun.STATUS_OK


def engine_of(
    text: str,
    stages: FakeStages,
    described: Mapping[str, StageProfile] | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], float] | None = None,
) -> Engine:
    """Compile `text` and run it on `stages`; with `clock`, its stage caches use that clock."""
    composition = compile_composition(read_composition("t.yaml", textwrap.dedent(text)))
    policies = {
        name: (spec.cache.ttl_s, spec.cache.max_entries)
        for name, spec in composition.stages.items()
        if spec.cache is not None
    }
    caches = build_caches(policies, clock=clock or time.monotonic) if policies else None
    return Engine(composition, stages, MessageTypes(), described, rng=rng, caches=caches)


async def run(
    engine: Engine,
    text: str = "x",
    within_s: float | None = None,
    cost_cap: float | None = None,
    no_cache: bool = False,
    deltas: Callable[[str], None] | None = None,
) -> tuple[Result, Run]:
    """One request of Text `text`; its result and what ran."""
    state = Run(
        deadline=None if within_s is None else time.monotonic() + within_s,
        cost_cap=cost_cap,
        no_cache=no_cache,
        deltas=deltas,
    )
    return await engine.run(pack(payloads_pb2.Text(text=text)), state), state


def text_of(result: Result) -> str:
    out = payloads_pb2.Text()
    assert result.payload.Unpack(out)
    return out.text


def label_of(result: Result) -> tuple[str, float]:
    out = payloads_pb2.Classification()
    assert result.payload.Unpack(out)
    return out.label, out.confidence


def ran(state: Run) -> list[str]:
    return [s.stage for s in state.stages]


def suffix(text: str, **usage: Any) -> FakeStageClient:
    """A stage appending `text` to its Text input."""

    def invoke(request: stage_pb2.InvokeRequest) -> stage_pb2.InvokeResponse:
        got = payloads_pb2.Text()
        request.input.Unpack(got)
        return answer(payloads_pb2.Text(text=got.text + text), model=f"suffix{text}", **usage)

    return FakeStageClient(invoke=invoke)


def classify(label: str, confidence: float = 0.9) -> FakeStageClient:
    """A stage answering one Classification whatever it is asked."""
    out = payloads_pb2.Classification(label=label, confidence=confidence)
    return FakeStageClient(invoke=lambda request: answer(out, model=label))


def keywords(rules: Mapping[str, tuple[str, float]], default: tuple[str, float]) -> FakeStageClient:
    """A classifier: the label (and confidence) of the first rule whose word is in the text."""

    def invoke(request: stage_pb2.InvokeRequest) -> stage_pb2.InvokeResponse:
        got = payloads_pb2.Text()
        request.input.Unpack(got)
        label, confidence = next(
            (found for word, found in rules.items() if word in got.text), default
        )
        return answer(payloads_pb2.Classification(label=label, confidence=confidence))

    return FakeStageClient(invoke=invoke)


def failing(
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE, details: str = "boom"
) -> FakeStageClient:
    def invoke(request: stage_pb2.InvokeRequest) -> stage_pb2.InvokeResponse:
        raise StageClientError(code, details)

    return FakeStageClient(invoke=invoke)


def held(release: asyncio.Event, then: FakeStageClient) -> FakeStageClient:
    """A stage that answers as `then` does, once `release` is set."""

    async def invoke(request: stage_pb2.InvokeRequest) -> stage_pb2.InvokeResponse:
        await release.wait()
        return await then.invoke(request, None)

    return FakeStageClient(invoke=invoke)


def merger() -> FakeStageClient:
    """The real merge strategies, called in memory."""
    servicer = MergerServicer()
    return FakeStageClient(merge=lambda request: servicer.Merge(request, None))  # type: ignore[arg-type]


# Stage types, and an escalation over two tiers, that several engine tests share.
TEXT = "input: tutti.v1.Text, output: tutti.v1.Text"
CLS = "input: tutti.v1.Text, output: tutti.v1.Classification"

ESCALATE = f"""
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  source: {{endpoint: x, {CLS}}}
  strong: {{endpoint: x, {CLS}}}
  both: {{endpoint: x, {CLS}}}
flow:
  escalate:
    from: source
    tiers: [{{below: 0.7, to: strong}}, {{below: 0.3, to: both}}]
"""
