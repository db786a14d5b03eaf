"""Specialist fixtures: a real server per model on 127.0.0.1:0, reached through a real stub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from grpc import aio

from specialist_service import Backend, SpecialistConfig, build_backend, service
from tutti.server import Server, ServerOptions
from tutti.v1 import stage_pb2_grpc


@dataclass
class Served:
    """A running specialist: stub, channel, and the backend whose model a test can inspect."""

    stub: stage_pb2_grpc.StageServiceStub
    channel: aio.Channel
    backend: Backend
    server: Server


Serve = Callable[[SpecialistConfig], Awaitable[Served]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a specialist for a config in this test's loop; everything is stopped afterwards."""
    running: list[Served] = []

    async def start(config: SpecialistConfig) -> Served:
        backend = build_backend(config)
        server = Server([service(config, backend=backend)], ServerOptions(port=0))
        port = await server.start()
        channel = aio.insecure_channel(f"127.0.0.1:{port}")
        served = Served(stage_pb2_grpc.StageServiceStub(channel), channel, backend, server)
        running.append(served)
        return served

    yield start
    for served in running:
        await served.channel.close()
        await served.server.stop(0)
