"""The plaintext health port beside a TLS main port: the same statuses, health and nothing else."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import start_stage
from tests.router_service.waiting import until
from tests.tutti.test_security import Pki, make_pki
from tutti.security import ServerTls
from tutti.server import Server, ServerOptions
from tutti.v1 import payloads_pb2, stage_pb2, stage_pb2_grpc

PROMPTLY_S = 5.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
STAGE = "tutti.v1.StageService"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


async def _stage(
    tmp_path: Path, pki: Pki, factory: str, options: str = "{}", grace_s: float = 0
) -> tuple[Server, Any]:
    """A specialist serving mutual TLS on its main port, plaintext health on another."""
    config = tmp_path / "stage.yaml"
    config.write_text(
        f'stage: echo\nbackend: python\nfactory: "tests.stages:{factory}"\noptions: {options}\n'
    )
    tls = ServerTls(pki.server.cert, pki.server.key, client_ca=pki.ca.cert)
    return await start_stage(config, ServerOptions(grace_s=grace_s, tls=tls, health_port=0))


async def _check(
    address: str, service: str = ""
) -> health_pb2.HealthCheckResponse.ServingStatus.ValueType:
    async with aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=service)
        return (await stub.Check(request, timeout=PROMPTLY_S)).status


async def test_the_health_port_answers_plaintext_and_serves_nothing_else(
    tmp_path: Path, pki: Pki
) -> None:
    server, _ = await _stage(tmp_path, pki, "echo")
    health_address = server.health_address
    assert health_address is not None and server.health_port not in (0, server.port)
    try:
        assert await _check(health_address) == SERVING
        assert await _check(health_address, STAGE) == SERVING
        async with aio.insecure_channel(health_address) as channel:
            listed = await health_pb2_grpc.HealthStub(channel).List(
                health_pb2.HealthListRequest(), timeout=PROMPTLY_S
            )
            assert {name: s.status for name, s in listed.statuses.items()} == {
                "": SERVING,
                STAGE: SERVING,
            }
            with pytest.raises(aio.AioRpcError) as caught:
                await stage_pb2_grpc.StageServiceStub(channel).Invoke(
                    stage_pb2.InvokeRequest(), timeout=PROMPTLY_S
                )
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        # The main port stays TLS: the same plaintext Check is refused there.
        with pytest.raises(aio.AioRpcError) as caught:
            await _check(server.address)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)
    with pytest.raises(aio.AioRpcError) as caught:
        await _check(health_address)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_health_port_says_not_serving_while_the_main_port_drains(
    tmp_path: Path, pki: Pki
) -> None:
    # A call that lasts until the test cancels it, and a drain that would wait for it.
    server, model = await _stage(tmp_path, pki, "slow", "{delay_ms: 600000}", grace_s=600)
    health_address = server.health_address
    assert health_address is not None
    credentials = grpc.ssl_channel_credentials(
        pki.ca.cert.read_bytes(), pki.client.key.read_bytes(), pki.client.cert.read_bytes()
    )
    main = aio.secure_channel(server.address, credentials)
    watching = aio.insecure_channel(health_address)
    request = stage_pb2.InvokeRequest()
    request.input.Pack(payloads_pb2.Text(text="in flight"))
    call = stage_pb2_grpc.StageServiceStub(main).Invoke(request)
    try:
        await until(lambda: model.in_flight == 1)
        watch = health_pb2_grpc.HealthStub(watching).Watch(
            health_pb2.HealthCheckRequest(service=STAGE)
        )
        assert (await watch.read()).status == SERVING
        stopping = asyncio.create_task(server.stop())
        assert (await watch.read()).status == NOT_SERVING
        assert await _check(health_address) == NOT_SERVING
        assert not stopping.done()  # still draining the call in flight
        call.cancel()
        await stopping
    finally:
        await main.close()
        await watching.close()
        await server.stop(0)


async def test_a_health_port_in_use_fails_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server([], ServerOptions(health_port=port))
        with pytest.raises(OSError, match=f"cannot bind 127.0.0.1:{port}"):
            await server.start()
