"""One stage call on in-memory stages: hedging, the circuit, the cache, status mapping, streaming."""

from __future__ import annotations

import asyncio
import itertools

import grpc
import pytest

from router_service import Engine, FakeStageClient, FakeStages
from router_service.engine import Circuit, echo
from router_service.plan import StageProfile
from tests.router_service.engine.conftest import (
    OK,
    classify,
    engine_of,
    failing,
    run,
    suffix,
    text_of,
)
from tutti.errors import OutputValidationError, StageCallError
from tutti.v1 import stage_pb2

TEXT = "input: tutti.v1.Text, output: tutti.v1.Text"


def one_stage(extra: str = "", flow: str = "a") -> str:
    return (
        "composition: t\ninput: tutti.v1.Text\noutput: tutti.v1.Text\nstages:\n"
        f"  a: {{endpoint: x, {TEXT}{', ' + extra if extra else ''}}}\n"
        f"  backup: {{endpoint: x, {TEXT}}}\n"
        f"flow: {flow}\n"
    )


async def test_a_hedged_stage_answers_from_the_second_copy_and_cancels_the_slow_first() -> None:
    never, cancelled = asyncio.Event(), asyncio.Event()
    calls = itertools.count()

    async def invoke(request: stage_pb2.InvokeRequest) -> stage_pb2.InvokeResponse:
        if next(calls) == 0:
            try:
                await never.wait()  # the first copy hangs
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return echo(request)

    stages = FakeStages(a=FakeStageClient(invoke=invoke), backup=suffix(""))
    engine = engine_of(one_stage("idempotent: true, hedge: {attempts: 2, delay_ms: 0}"), stages)
    result, _ = await run(engine, "quick")
    assert text_of(result) == "quick" and stages["a"].calls == 2
    await asyncio.wait_for(cancelled.wait(), timeout=5)
    assert stages["a"].cancelled == 1


async def test_a_hedged_stage_whose_every_copy_fails_fails_with_the_last_failure() -> None:
    stages = FakeStages(a=failing(grpc.StatusCode.INTERNAL, "down"), backup=suffix(""))
    engine = engine_of(one_stage("idempotent: true, hedge: {attempts: 3, delay_ms: 0}"), stages)
    with pytest.raises(StageCallError) as caught:
        await run(engine)
    assert caught.value.code is grpc.StatusCode.INTERNAL and stages["a"].calls == 3


async def test_an_open_circuit_refuses_calls_without_reaching_the_stage_and_fallback_answers() -> (
    None
):
    stages = FakeStages(a=failing(), backup=suffix(" (backup)"))
    engine = engine_of(
        one_stage("circuit: {failures: 2, open_s: 60}", flow="{fallback: [a, backup]}"), stages
    )
    for _ in range(3):
        result, state = await run(engine)
        assert text_of(result) == "x (backup)"
    assert stages["a"].calls == 2  # the third request met an open circuit
    assert state.stages[0].detail.startswith("circuit open")
    assert engine.circuits["a"].state == Circuit.OPEN


@pytest.mark.parametrize(
    ("code", "seen", "detail"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INVALID_ARGUMENT, "bad"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.RESOURCE_EXHAUSTED, "bad"),
        (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE, "NOT_FOUND: bad"),
        (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAVAILABLE, "PERMISSION_DENIED: bad"),
    ],
)
async def test_a_stage_error_reaches_the_client_as_its_code_only_when_it_means_the_same_there(
    code: grpc.StatusCode, seen: grpc.StatusCode, detail: str
) -> None:
    stages = FakeStages(a=failing(code, "bad"), backup=suffix(""))
    with pytest.raises(StageCallError) as caught:
        await run(engine_of(one_stage(), stages))
    assert caught.value.code is seen and detail in str(caught.value)


async def test_an_output_of_the_wrong_type_is_an_invalid_output_naming_the_stage() -> None:
    stages = FakeStages(a=classify("oops"), backup=suffix(""))
    with pytest.raises(OutputValidationError) as caught:
        await run(engine_of(one_stage(), stages))
    assert "a" in str(caught.value) and "expected tutti.v1.Text" in str(caught.value)


async def test_the_answering_stage_streams_its_deltas_and_a_stage_without_streaming_is_invoked() -> (
    None
):
    streamed = FakeStageClient(invoke=echo, deltas=lambda request: ["he", "llo"])
    stages = FakeStages(a=streamed, backup=suffix("!"))
    seen: list[str] = []
    result, _ = await run(engine_of(one_stage(), stages), "hello", deltas=seen.append)
    assert seen == ["he", "llo"] and text_of(result) == "hello"

    plain = FakeStages(a=FakeStageClient(invoke=echo), backup=suffix(""))
    result, _ = await run(engine_of(one_stage(), plain), "hi", deltas=seen.append)
    assert text_of(result) == "hi" and plain["a"].calls == 2  # InvokeStream, then Invoke


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


CACHED = (
    "composition: t\ninput: tutti.v1.Text\noutput: tutti.v1.Text\nstages:\n"
    f"  a: {{endpoint: x, {TEXT}, price: {{per_call_usd: 0.01}}, cache: {{ttl_s: 60}}}}\n"
    f"  boom: {{endpoint: x, {TEXT}, cache: {{ttl_s: 60}}}}\n"
    "flow: a\n"
)


def cached_engine(stages: FakeStages, clock: Clock, flow: str = "a") -> Engine:
    # Only a stage whose model version is known is cached: say it as Describe would.
    cards = {name: StageProfile(version="1") for name in ("a", "boom")}
    return engine_of(
        CACHED.replace("flow: a", f"flow: {flow}"), stages, described=cards, clock=clock
    )


async def test_a_repeated_input_is_a_cache_hit_that_costs_nothing_until_its_ttl_passes() -> None:
    clock = Clock()
    stages = FakeStages(a=suffix("!"), boom=failing())
    engine = cached_engine(stages, clock)
    _, first = await run(engine, "hello")
    await engine.flush()  # the write goes on beside the request
    result, second = await run(engine, "hello")
    assert text_of(result) == "hello!"
    assert (first.stages[0].cache_hit, second.stages[0].cache_hit) == (False, True)
    assert first.cost == pytest.approx(0.01) and second.cost == 0
    _, other = await run(engine, "other")
    assert not other.stages[0].cache_hit
    clock.now += 61
    _, expired = await run(engine, "hello")
    assert not expired.stages[0].cache_hit and stages["a"].calls == 3


async def test_no_cache_bypasses_the_cache_and_errors_are_never_cached() -> None:
    clock = Clock()
    stages = FakeStages(a=suffix("!"), boom=failing())
    engine = cached_engine(stages, clock)
    await run(engine, "hello")
    await engine.flush()
    _, bypassed = await run(engine, "hello", no_cache=True)
    assert not bypassed.stages[0].cache_hit and stages["a"].calls == 2

    failing_engine = cached_engine(stages, clock, flow="boom")
    for _ in range(2):
        with pytest.raises(StageCallError):
            await run(failing_engine, "hello")
        await failing_engine.flush()
    assert stages["boom"].calls == 2


async def test_a_stage_of_unknown_model_version_is_not_cached() -> None:
    stages = FakeStages(a=suffix("!"), boom=failing())
    engine = engine_of(CACHED, stages, clock=Clock())
    for _ in range(2):
        _, state = await run(engine, "hello")
        await engine.flush()
        assert not state.stages[0].cache_hit
    assert stages["a"].calls == 2 and state.stages[0].status == OK
