"""What a client is told is bounded and says nothing of where stages run: a name or type
URL it sent is quoted short, and a stage's transport error loses its address."""

from __future__ import annotations

import socket
from pathlib import Path

import grpc
import pytest
from grpc import aio

from tests.conftest import InLoopMesh, start_mesh, write_echo_composition
from tests.router_service.test_flow_nodes import text_request
from tutti.errors import MAX_PUBLIC_MESSAGE, without_addresses

ECHO = """\
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  echo: {endpoint: x, serve: {backend: python, factory: "tests.stages:echo"}}
flow: echo
"""


async def _refused(call: object) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_a_huge_composition_name_is_not_found_with_a_short_message(mesh) -> None:
    m: InLoopMesh = await mesh(ECHO)
    request = text_request("hi", composition="n" * 20_000)
    error = await _refused(m.stub.Route(request, timeout=5))
    assert error.code() is grpc.StatusCode.NOT_FOUND, error
    assert len(error.details() or "") < 300 and "20,000 characters" in (error.details() or "")


async def test_a_huge_type_url_is_invalid_argument_with_a_bounded_message(mesh) -> None:
    m: InLoopMesh = await mesh(ECHO)
    request = text_request("hi")
    request.input.type_url = "type.googleapis.com/" + "t" * 20_000
    error = await _refused(m.stub.Route(request, timeout=5))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, error
    assert len(error.details() or "") <= MAX_PUBLIC_MESSAGE


async def test_a_stage_that_is_down_is_unavailable_without_its_address(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_echo_composition(tmp_path / "down.yaml", f'"127.0.0.1:{port}"', "retry: false")
    m = await start_mesh(path, describe=False)
    try:
        error = await _refused(m.stub.Route(text_request("hi"), timeout=5))
        assert error.code() is grpc.StatusCode.UNAVAILABLE, error
        details = error.details() or ""
        assert "stage 'echo'" in details
        assert "127.0.0.1" not in details and str(port) not in details, details
    finally:
        await m.close()


def test_addresses_of_every_form_are_taken_out() -> None:
    text = "ipv4:127.0.0.1:31285: recvmsg:Connection reset by peer; [::1]:50051 and 10.0.0.7"
    assert without_addresses(text) == (
        "<address>: recvmsg:Connection reset by peer; <address> and <address>"
    )
