"""The router learns stage types and prices from the live stages' Describe."""

from __future__ import annotations

import socket

import grpc
import pytest
from grpc import aio

import tests.conftest
from router_service import compile_composition, read_composition
from tests.conftest import InLoopMesh, start_mesh
from tests.router_service.test_flow_nodes import output_text, text_request
from tutti.errors import CompositionError, ConfigError
from tutti.server import Server

UNDECLARED = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
budget: {cost_usd: 0.01}
stages:
  a: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-a"}, price: {per_call_usd: 0.003}}}
  pricey: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-p"}, price: {per_call_usd: 0.05}}}
flows:
  expensive: {sequence: [a, pricey]}
flow: a
"""


async def test_stage_types_come_from_describe_when_the_yaml_has_none(mesh) -> None:
    m: InLoopMesh = await mesh(UNDECLARED)
    response = await m.stub.Route(text_request("x"))
    assert output_text(response) == "x-a"
    # no price in the composition: the cost is what the stage's model card charges
    assert response.execution.total_cost_usd == pytest.approx(0.003)


def test_offline_check_cannot_type_undeclared_stages(write_composition) -> None:
    with pytest.raises(CompositionError, match="stage 'a': input/output types unknown"):
        compile_composition(read_composition(write_composition(UNDECLARED)))


async def test_a_stage_over_the_cost_cap_is_refused_naming_the_cap(mesh) -> None:
    m: InLoopMesh = await mesh(UNDECLARED.replace("flow: a", "flow: expensive"))
    with pytest.raises(aio.AioRpcError) as caught:
        await m.stub.Route(text_request("x"))
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "stage 'pricey'" in caught.value.details() and "$0.01" in caught.value.details()
    assert m.models["pricey"].calls == 0
    # a per-request cap above the stage's price cannot raise the composition's own
    request = text_request("x")
    request.options.max_cost_usd = 1.0
    with pytest.raises(aio.AioRpcError) as caught:
        await m.stub.Route(request)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "stage 'pricey'" in caught.value.details() and "$0.01" in caught.value.details()


async def test_declared_types_that_disagree_with_the_live_stage_stop_the_router_from_loading(
    write_composition,
) -> None:
    text = UNDECLARED.replace(
        "a: {endpoint: x, serve: {",
        "a: {endpoint: x, output: tutti.v1.Completion, serve: {output: tutti.v1.Text, ",
    )
    with pytest.raises(CompositionError) as caught:
        await start_mesh(write_composition(text))  # the stage serves Text, as its own config says
    assert any(
        p.stage == "a" and "live stage says tutti.v1.Text" in p.message
        for p in caught.value.problems
    ), caught.value


async def test_a_stage_that_cannot_start_stops_the_stages_started_before_it(
    write_composition, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Server] = []

    class Recorded(Server):
        async def start(self) -> int:
            port = await super().start()
            started.append(self)
            return port

    monkeypatch.setattr(tests.conftest, "Server", Recorded)
    text = UNDECLARED.replace('"tests.stages:suffix", options: {text: "-p"}', '"tests.stages:nope"')
    with pytest.raises(ConfigError, match="tests.stages has no attribute nope"):
        await start_mesh(write_composition(text))
    assert started, "stage 'a' should have been serving before 'pricey' failed"
    for server in started:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2.0).close()
