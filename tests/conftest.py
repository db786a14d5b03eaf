"""Shared fixtures: real services on 127.0.0.1:0 inside the test's event loop."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from grpc import aio

import merger_service
from router_service import Router, read_composition
from router_service import service as router_service
from specialist_service import build_backend
from specialist_service import service as specialist_service
from tutti.server import Server, ServerOptions
from tutti.v1 import router_pb2_grpc
from workbench.serve_blocks import stage_config


@dataclass
class InLoopMesh:
    """Every service of one composition, each a real gRPC server in this event loop."""

    router: Router
    router_address: str
    stub: router_pb2_grpc.RouterServiceStub
    # The model object behind each python-backend stage, to count its calls.
    models: dict[str, Any] = field(default_factory=dict)
    servers: dict[str, Server] = field(default_factory=dict)
    channel: aio.Channel | None = None

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        for server in reversed(list(self.servers.values())):
            await server.stop(0)


async def start_mesh(path: Path, describe: bool = True) -> InLoopMesh:
    draft = read_composition(path)
    servers: dict[str, Server] = {}
    models: dict[str, Any] = {}
    endpoints: dict[str, str] = {}
    try:
        for name, spec in draft.stages.items():
            if spec.is_merger:
                service = merger_service.service()
            elif spec.serve is not None:
                config = stage_config(path, name)
                backend = build_backend(config)
                models[name] = getattr(backend, "model", None)
                service = specialist_service(config, backend=backend)
            else:
                continue
            server = Server([service], ServerOptions(grace_s=1.0))
            await server.start()
            servers[name] = server
            endpoints[name] = server.address
        router = await Router.load([path], endpoints, describe=describe)
        router_server = Server([router_service(router)], ServerOptions(grace_s=1.0))
        try:
            await router_server.start()
        except BaseException:
            await router.close()  # stopping its server would have closed it
            raise
        servers["router"] = router_server
    except BaseException:
        # A stage or the router that fails to start must not leave the ones before it serving.
        for server in reversed(list(servers.values())):
            await server.stop(0)
        raise
    channel = aio.insecure_channel(router_server.address)
    mesh = InLoopMesh(
        router=router,
        router_address=router_server.address,
        stub=router_pb2_grpc.RouterServiceStub(channel),
        models=models,
        servers=servers,
        channel=channel,
    )
    return mesh


async def start_stage(config: Path, options: ServerOptions | None = None) -> tuple[Server, Any]:
    """One specialist from its config file, serving in this loop; its server and its model."""
    from specialist_service import load_specialist_config

    spec = load_specialist_config(config)
    backend = build_backend(spec)
    server = Server(
        [specialist_service(spec, backend=backend)], options or ServerOptions(grace_s=0)
    )
    await server.start()
    return server, getattr(backend, "model", None)


def write_echo_composition(path: Path, endpoint: str, extra: str = "") -> Path:
    """Composition `t`: one Text -> Text stage `echo` at `endpoint` (YAML: an address, quoted,
    or a list), with `extra` stage keys such as "retry: false"."""
    keys = f", {extra}" if extra else ""
    path.write_text(
        "composition: t\ninput: tutti.v1.Text\noutput: tutti.v1.Text\nstages:\n"
        f"  echo: {{endpoint: {endpoint}, input: tutti.v1.Text, output: tutti.v1.Text{keys}}}\n"
        "flow: echo\n"
    )
    return path


@pytest.fixture
def write_composition(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text (dedented) to a file and return its path."""
    counter = iter(range(1000))

    def write(text: str) -> Path:
        path = tmp_path / f"composition{next(counter)}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
async def mesh(
    write_composition: Callable[[str], Path],
) -> AsyncIterator[Callable[[str], Awaitable[InLoopMesh]]]:
    """Start an in-loop mesh from composition YAML text; everything stops after the test."""
    started: list[InLoopMesh] = []

    async def make(text: str) -> InLoopMesh:
        created = await start_mesh(write_composition(text))
        started.append(created)
        return created

    yield make
    for created in started:
        await created.close()


_SPANS = None


@pytest.fixture
def spans() -> Any:
    """Spans finished in this process, from an in-memory exporter installed once as the global provider."""
    global _SPANS
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if _SPANS is None:
        # OpenTelemetry lets the global provider be set only once per process, so this one
        # stays for the rest of the session: every later test records spans into it, and
        # each test that asks for this fixture starts from a cleared exporter.
        _SPANS = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_SPANS))
        trace.set_tracer_provider(provider)
    _SPANS.clear()
    return _SPANS


@pytest.fixture(scope="session")
def llama_url() -> Iterator[str]:
    """A real llama.cpp OpenAI-compatible server with SmolLM2-135M on loopback, for the session."""
    from tests.llm_servers import llama_server

    with llama_server() as url:
        yield url
