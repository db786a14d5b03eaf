"""Failing soft: retries, replicas, circuit breaker, hedging, fallback, admission control, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio

from router_service import Router
from router_service.composition import (
    MAX_DEPTH,
    MAX_FANOUT_WIDTH,
    compile_composition,
    read_composition,
)
from router_service.engine import Circuit
from router_service.plan import CircuitPolicy
from tests.conftest import InLoopMesh, start_stage, write_echo_composition
from tests.router_service.test_flow_nodes import output_text, text_request
from tests.router_service.waiting import until
from tests.stages import Flaky, Hiccup, Slow
from tutti.errors import CompositionError
from tutti.server import ServerOptions
from tutti.v1 import router_pb2, stage_pb2_grpc

FAILED = router_pb2.StageRun.STATUS_FAILED


# -- the circuit on its own ------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_circuit_opens_after_failures_in_a_row_then_lets_one_probe_through() -> None:
    clock = Clock()
    circuit = Circuit(CircuitPolicy(failures=3, open_s=5.0), clock)
    for _ in range(2):
        assert circuit.allow()
        circuit.record(False)
    circuit.record(True)  # a success resets the run of failures
    for _ in range(3):
        assert circuit.allow()
        circuit.record(False)
    assert circuit.state == Circuit.OPEN and not circuit.allow()
    clock.now += 4.9
    assert not circuit.allow()
    clock.now += 0.2
    assert circuit.allow()  # the probe
    assert not circuit.allow()  # only one at a time
    circuit.record(False)
    assert circuit.state == Circuit.OPEN and circuit.opened == 2
    clock.now += 5.1
    assert circuit.allow()
    circuit.record(True)
    assert circuit.state == Circuit.CLOSED and circuit.allow()


def test_a_cancelled_probe_lets_the_next_call_probe() -> None:
    clock = Clock()
    circuit = Circuit(CircuitPolicy(failures=1, open_s=1.0), clock)
    circuit.record(False)
    clock.now += 1.5
    assert circuit.allow() and not circuit.allow()
    circuit.abandon()
    assert circuit.allow()


def test_circuit_opens_on_the_error_rate_of_its_window() -> None:
    circuit = Circuit(CircuitPolicy(failures=100, error_rate=0.5, window=10), Clock())
    for i in range(9):
        circuit.record(i % 2 == 0)  # 5 ok, 4 failed
    assert circuit.state == Circuit.CLOSED
    circuit.record(False)  # 5 of 10 failed
    assert circuit.state == Circuit.OPEN


# -- through the router -----------------------------------------------------------

STAGE = '{{endpoint: x, serve: {{backend: python, factory: "tests.stages:{factory}", options: {options}}}{extra}}}'


def composition(flow: str, **stages: tuple[str, str] | tuple[str, str, str]) -> str:
    lines = ["composition: t", "input: tutti.v1.Text", "output: tutti.v1.Text", "stages:"]
    for name, spec in stages.items():
        factory, options, *extra = spec
        lines.append(
            f"  {name}: "
            + STAGE.format(factory=factory, options=options, extra=f", {extra[0]}" if extra else "")
        )
    return "\n".join(lines) + "\nflow: " + flow + "\n"


async def test_a_stage_answering_unavailable_is_retried_by_grpc_and_the_request_succeeds(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(composition("a", a=("flaky", "{failures: 2}")))
    response = await m.stub.Route(text_request("hello"))
    assert output_text(response) == "hello"
    model = m.models["a"]
    assert isinstance(model, Flaky) and model.calls == 3  # two failed attempts, then the answer


async def test_retry_false_turns_retries_off(mesh) -> None:
    m: InLoopMesh = await mesh(composition("a", a=("flaky", "{failures: 1}", "retry: false")))
    with pytest.raises(aio.AioRpcError) as caught:
        await m.stub.Route(text_request("hello"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "stage 'a'" in caught.value.details()
    assert m.models["a"].calls == 1


async def test_an_open_circuit_refuses_calls_without_reaching_the_stage(mesh) -> None:
    m: InLoopMesh = await mesh(
        composition(
            "a",
            a=("flaky", "{failures: -1}", "retry: false, circuit: {failures: 3, open_s: 60}"),
        )
    )
    for _ in range(3):
        with pytest.raises(aio.AioRpcError):
            await m.stub.Route(text_request("x"))
    assert m.models["a"].calls == 3
    with pytest.raises(aio.AioRpcError) as caught:
        await m.stub.Route(text_request("x"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "circuit open" in caught.value.details()
    assert m.models["a"].calls == 3  # refused in the router
    assert m.router.engines["t"].circuits["a"].state == Circuit.OPEN


async def test_fallback_answers_when_the_first_step_fails_or_its_circuit_is_open(mesh) -> None:
    m: InLoopMesh = await mesh(
        composition(
            "{fallback: [primary, backup]}",
            primary=("flaky", "{failures: -1}", "retry: false, circuit: {failures: 2, open_s: 60}"),
            backup=("suffix", '{text: " (backup)"}'),
        )
    )
    for _ in range(3):
        response = await m.stub.Route(text_request("x"))
        assert output_text(response) == "x (backup)"
        assert response.execution.path[0] == "fallback:primary failed (UNAVAILABLE)->backup"
        assert response.execution.stages[0].status == FAILED
    assert m.models["primary"].calls == 2  # the third request met an open circuit
    assert response.execution.stages[0].detail.startswith("circuit open")


async def test_a_hedged_stage_answers_from_the_second_copy_when_the_first_is_slow(mesh) -> None:
    m: InLoopMesh = await mesh(
        composition(
            "a",
            a=(
                "hiccup",
                "{delay_ms: 5000, every: 2}",
                "idempotent: true, hedge: {attempts: 2, delay_ms: 50}",
            ),
        )
    )
    response = await m.stub.Route(text_request("quick"), timeout=4)
    assert output_text(response) == "quick"
    model = m.models["a"]
    assert isinstance(model, Hiccup) and model.calls == 2
    # The slow copy is cancelled, not left running, tracing on or off.
    await until(lambda: model.cancelled == 1)


def test_hedging_needs_an_idempotent_stage_and_excludes_retry(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        composition(
            "a",
            a=("echo", "{}", "hedge: {attempts: 2}, retry: {attempts: 2}"),
        )
    )
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(path))
    text = str(caught.value)
    assert "mark the stage 'idempotent: true'" in text
    assert "either 'retry' or 'hedge'" in text


async def test_replicas_share_the_calls_and_a_dead_one_is_skipped(
    tmp_path: Path,
) -> None:
    config = tmp_path / "echo.yaml"
    config.write_text('stage: echo\nbackend: python\nfactory: "tests.stages:echo"\n')
    servers, models = [], []
    for _ in range(2):
        server, model = await start_stage(config)
        servers.append(server)
        models.append(model)
    path = write_echo_composition(
        tmp_path / "c.yaml", f"[{servers[0].address}, {servers[1].address}]"
    )
    router = await Router.load([path])
    try:
        for i in range(20):
            await router.route(text_request(f"r{i}"), 5.0)
        assert models[0].calls >= 5 and models[1].calls >= 5  # round robin, not one replica
        await servers[0].stop(0)
        for i in range(20):  # every one answered: a call that met the dead replica was retried
            response = await router.route(text_request(f"after{i}"), 5.0)
            assert output_text(response) == f"after{i}"
    finally:
        await router.close()
        await servers[1].stop(0)


@pytest.mark.parametrize(
    "endpoint",
    ["[localhost:1, 127.0.0.1:2]", "[127.0.0.1]", "[127.0.0.1:1, '[::1]:2']", "[]"],
)
def test_a_bad_replica_list_is_a_config_error_with_its_line(tmp_path: Path, endpoint: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "composition: t\ninput: tutti.v1.Text\noutput: tutti.v1.Text\nstages:\n"
        f"  echo: {{endpoint: {endpoint}, input: tutti.v1.Text, output: tutti.v1.Text}}\n"
        "flow: echo\n"
    )
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(path))
    assert f"{path}:5" in str(caught.value)


def test_flows_nested_too_deep_and_fan_outs_too_wide_are_refused(tmp_path: Path) -> None:
    head = (
        "composition: t\ninput: tutti.v1.Text\noutput: tutti.v1.Text\nstages:\n"
        "  a: {endpoint: x, input: tutti.v1.Text, output: tutti.v1.Text}\n"
        "  m: {endpoint: x, kind: merger}\n"
    )
    deep = tmp_path / "deep.yaml"
    deep.write_text(
        head + "flow: " + "{sequence: [" * (MAX_DEPTH + 1) + "a" + "]}" * (MAX_DEPTH + 1) + "\n"
    )
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(deep))
    assert f"nest deeper than {MAX_DEPTH} levels" in str(caught.value)

    wide = tmp_path / "wide.yaml"
    branches = ", ".join(f"b{i}: a" for i in range(MAX_FANOUT_WIDTH + 1))
    wide.write_text(
        head
        + f"flow: {{fanout: {{branches: {{{branches}}}, merge: {{by: m, strategy: first_valid}}}}}}\n"
    )
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(wide))
    assert f"at most {MAX_FANOUT_WIDTH} branches, not {MAX_FANOUT_WIDTH + 1}" in str(caught.value)


async def test_a_server_past_its_in_flight_limit_sheds_with_resource_exhausted_at_once(
    tmp_path: Path,
) -> None:
    config = tmp_path / "slow.yaml"
    config.write_text(
        'stage: slow\nbackend: python\nfactory: "tests.stages:slow"\noptions: {delay_ms: 1000}\n'
    )
    server, model = await start_stage(config, ServerOptions(grace_s=0, max_in_flight=2))
    from tutti.messages import pack
    from tutti.v1 import payloads_pb2, stage_pb2

    channel = aio.insecure_channel(server.address)
    stub = stage_pb2_grpc.StageServiceStub(channel)
    try:
        request = stage_pb2.InvokeRequest(input=pack(payloads_pb2.Text(text="x")))
        calls = [asyncio.ensure_future(stub.Invoke(request, timeout=10)) for _ in range(6)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        shed = [r for r in results if isinstance(r, aio.AioRpcError)]
        assert len(shed) == 4
        assert {r.code() for r in shed} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert isinstance(model, Slow) and model.calls == 2
    finally:
        await channel.close()
        await server.stop(0)


_METRICS = None


@pytest.fixture
def metric_reader() -> Any:
    """An in-memory reader on a meter provider installed once as the global one (OTel allows one)."""
    global _METRICS
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    if _METRICS is None:
        _METRICS = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[_METRICS]))
    return _METRICS


def gauge(reader: Any, name: str) -> list[tuple[float, dict[str, Any]]]:
    found = []
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += [(p.value, dict(p.attributes)) for p in metric.data.data_points]
    return found


async def test_queue_depth_and_circuit_state_are_reported_as_gauges(mesh, metric_reader) -> None:
    m: InLoopMesh = await mesh(
        composition(
            "{fallback: [a, slow]}",
            a=("flaky", "{failures: -1}", "retry: false, circuit: {failures: 1, open_s: 60}"),
            slow=("slow", "{delay_ms: 1000}"),
        )
    )
    calls = [asyncio.ensure_future(m.stub.Route(text_request("x"), timeout=5)) for _ in range(3)]
    await until(lambda: m.models["slow"].in_flight == 3)  # all three wait on the slow stage
    depth = [v for v, _ in gauge(metric_reader, "tutti.router.in_flight")]
    circuits = gauge(metric_reader, "tutti.circuit.state")
    await asyncio.gather(*calls)
    assert 3.0 in depth
    assert (float(Circuit.OPEN), {"tutti.composition": "t", "tutti.stage": "a"}) in circuits
    assert (float(Circuit.CLOSED), {"tutti.composition": "t", "tutti.stage": "slow"}) in circuits
