"""Bad requests and misbehaving stages get clear statuses, and the router keeps serving."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc import aio

from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import output_text, text_request
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2

INVALID_OUTPUT = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  triage: {endpoint: x, serve: {backend: python, factory: "tests.stages:invalid_classification"}}
  after: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "!"}}}
  echo: {endpoint: x, serve: {backend: python, factory: "tests.stages:echo"}}
  boom: {endpoint: x, serve: {backend: python, factory: "tests.stages:failing", options: {message: "secret /etc/passwd detail"}}}
  slow: {endpoint: x, serve: {backend: python, factory: "tests.stages:slow", options: {delay_ms: 2000}}}
flows:
  bad_then_next:
    route: {by: triage, cases: {}, default: after}
  failing: {sequence: [echo, boom, after]}
  slow_then_after: {sequence: [slow, after]}
flow: bad_then_next
"""


async def _expect(call: object, code: grpc.StatusCode) -> str:
    with pytest.raises(aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() is code, caught.value.details()
    return caught.value.details() or ""


async def test_output_violating_constraints_fails_naming_stage_and_field_and_next_stage_never_runs(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(INVALID_OUTPUT)
    details = await _expect(m.stub.Route(text_request("hi")), grpc.StatusCode.INVALID_ARGUMENT)
    assert "stage 'triage'" in details and "'confidence'" in details
    assert m.models["after"].calls == 0


async def test_wrong_any_type_empty_payload_and_unknown_composition_are_rejected_and_router_keeps_serving(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(INVALID_OUTPUT.replace("flow: bad_then_next", "flow: echo"))
    wrong = router_pb2.RouteRequest(
        composition="t", input=pack(payloads_pb2.Classification(label="x"))
    )
    details = await _expect(m.stub.Route(wrong), grpc.StatusCode.INVALID_ARGUMENT)
    assert (
        details.startswith("input:")
        and "tutti.v1.Classification" in details
        and "tutti.v1.Text" in details
    )

    details = await _expect(
        m.stub.Route(router_pb2.RouteRequest(composition="t")), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert details.startswith("input:") and "empty" in details

    details = await _expect(
        m.stub.Route(text_request("hi", composition="nope")), grpc.StatusCode.NOT_FOUND
    )
    assert "'nope'" in details and "serves: t" in details

    response = await m.stub.Route(text_request("still here"))
    assert output_text(response) == "still here"


async def test_client_input_breaking_its_constraints_names_the_field(mesh) -> None:
    m: InLoopMesh = await mesh(INVALID_OUTPUT.replace("flow: bad_then_next", "flow: echo"))
    oversized_text = "x" * (
        1024 * 1024 + 1
    )  # Text.text max_len is 1 MiB; the message still fits gRPC's 4 MiB
    details = await _expect(
        m.stub.Route(text_request(oversized_text)), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert details.startswith("input.text:")


async def test_oversized_message_is_refused_and_the_router_keeps_serving(mesh) -> None:
    m: InLoopMesh = await mesh(INVALID_OUTPUT.replace("flow: bad_then_next", "flow: echo"))
    await _expect(
        m.stub.Route(text_request("x" * (5 * 1024 * 1024))), grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    response = await m.stub.Route(text_request("after"))
    assert output_text(response) == "after"


async def test_a_failing_stage_is_named_and_no_internals_reach_the_client(mesh) -> None:
    m: InLoopMesh = await mesh(INVALID_OUTPUT.replace("flow: bad_then_next", "flow: failing"))
    details = await _expect(m.stub.Route(text_request("hi")), grpc.StatusCode.INTERNAL)
    assert "stage 'boom'" in details
    assert "passwd" not in details and "Traceback" not in details
    assert m.models["after"].calls == 0


async def test_client_deadline_travels_down_and_cancels_the_slow_stage(mesh) -> None:
    m: InLoopMesh = await mesh(
        INVALID_OUTPUT.replace("flow: bad_then_next", "flow: slow_then_after")
    )
    await _expect(m.stub.Route(text_request("hi"), timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED)
    slow = m.models["slow"]
    for _ in range(50):  # the cancellation reaches the stage's server asynchronously
        if slow.cancelled:
            break
        await asyncio.sleep(0.05)
    assert slow.calls == 1 and slow.cancelled == 1
    assert m.models["after"].calls == 0


async def test_route_stream_answers_every_request_even_when_some_fail(mesh) -> None:
    m: InLoopMesh = await mesh(INVALID_OUTPUT.replace("flow: bad_then_next", "flow: echo"))
    requests = [
        router_pb2.RouteStreamRequest(request_id=str(i), request=text_request(f"ticket {i}"))
        for i in range(20)
    ]
    requests.append(
        router_pb2.RouteStreamRequest(
            request_id="bad", request=text_request("x", composition="nope")
        )
    )

    async def feed():  # type: ignore[no-untyped-def]
        for request in requests:
            yield request

    answers = {r.request_id: r async for r in m.stub.RouteStream(feed())}
    assert sorted(answers) == sorted(r.request_id for r in requests)
    assert output_text(answers["7"].response) == "ticket 7"
    assert answers["bad"].error.code == grpc.StatusCode.NOT_FOUND.value[0]


async def test_list_compositions_gives_types_and_their_descriptors(mesh) -> None:
    m: InLoopMesh = await mesh(INVALID_OUTPUT.replace("flow: bad_then_next", "flow: echo"))
    listing = await m.stub.ListCompositions(router_pb2.ListCompositionsRequest())
    (info,) = listing.compositions
    assert (info.name, info.input_type, info.output_type) == ("t", "tutti.v1.Text", "tutti.v1.Text")
    assert "tutti/v1/payloads.proto" in [f.name for f in info.descriptors.file]
