"""Fuzzing with hypothesis: Route payloads against a live router, and mutated composition files.

Every case must end in a clean error (a gRPC status with a message, or a
ConfigError listing problems): no crash, no traceback to the client, and
the server keeps serving.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import any_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router_service import compile_composition, read_composition
from tests.conftest import InLoopMesh, start_mesh
from tests.router_service.test_flow_nodes import output_text, text_request
from tutti.errors import ConfigError
from tutti.v1 import router_pb2, router_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
CLEAN = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
COMPOSITION = """\
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  echo: {endpoint: x, serve: {backend: python, factory: "tests.stages:echo"}}
flow: echo
"""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def deep(levels: int) -> bytes:
    """Field 1 as a message inside itself `levels` times: past protobuf's recursion limit."""
    inner = b""
    for _ in range(levels):
        inner = b"\x0a" + _varint(len(inner)) + inner
    return inner


@pytest.fixture(scope="module")
def live_router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A mesh in an event loop of its own thread, so hypothesis can drive it with a sync client."""
    path = tmp_path_factory.mktemp("fuzz") / "composition.yaml"
    path.write_text(COMPOSITION)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    mesh: InLoopMesh = asyncio.run_coroutine_threadsafe(start_mesh(path), loop).result(60)
    try:
        yield mesh.router_address
    finally:
        asyncio.run_coroutine_threadsafe(mesh.close(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


type_urls = st.one_of(
    st.just("type.googleapis.com/tutti.v1.Text"),
    st.just("type.googleapis.com/tutti.v1.Classification"),
    st.just("type.googleapis.com/no.such.Type"),
    st.just(""),
    st.text(max_size=80),
)
values = st.one_of(
    st.binary(max_size=2048),
    st.integers(min_value=1, max_value=300).map(deep),
    st.integers(min_value=0, max_value=2_000_000).map(
        lambda n: b"\x0a" + _varint(n) + b"x" * min(n, 2_000_000)
    ),
)
requests = st.builds(
    lambda name, url, value, cap: router_pb2.RouteRequest(
        composition=name,
        input=any_pb2.Any(type_url=url, value=value),
        options=router_pb2.RouteOptions(max_cost_usd=cap),
    ),
    st.one_of(st.just("t"), st.text(max_size=40)),
    type_urls,
    values,
    st.one_of(st.just(0.0), st.floats(allow_nan=True, allow_infinity=True)),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=requests)
def test_any_route_request_gets_an_answer_or_a_clean_error(
    live_router: str, request: router_pb2.RouteRequest
) -> None:
    with grpc.insecure_channel(live_router) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        try:
            stub.Route(request, timeout=10)
        except grpc.RpcError as exc:
            assert exc.code() in CLEAN, (exc.code(), exc.details())
            assert "Traceback" not in (exc.details() or "")
            assert exc.details()
        # The server still serves a good request after each case.
        assert output_text(stub.Route(text_request("still here"), timeout=10)) == "still here"


SOURCES = ["quickstart", "support-desk"]


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example folders (without trained models), where mutants are written."""
    folder = tmp_path_factory.mktemp("examples")
    for name in SOURCES:
        shutil.copytree(
            ROOT / "examples" / name, folder / name, ignore=shutil.ignore_patterns("models")
        )
    return folder


def mutate(text: str, seed: int, operations: int) -> str:
    rng = random.Random(seed)
    lines = text.splitlines()
    for _ in range(operations):
        op = rng.choice(["drop", "duplicate", "swap", "char", "indent", "truncate", "garbage"])
        i = rng.randrange(len(lines)) if lines else 0
        if not lines:
            lines = ["{"]
        elif op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "char" and lines[i]:
            k = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:k] + rng.choice(":{}[]-,&*!|>'\"#%@ \t0x") + lines[i][k + 1 :]
        elif op == "indent":
            lines[i] = " " * rng.randrange(0, 6) + lines[i].lstrip()
        elif op == "truncate":
            lines = lines[: i + 1]
        elif op == "garbage":
            lines.insert(
                i, rng.choice(["[" * 2000, "a: " + "{x: " * 300, "&a [*a]", "? ? ?", "\x00"])
            )
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(source=st.sampled_from(SOURCES), seed=st.integers(0, 2**32), operations=st.integers(1, 4))
def test_mutated_compositions_load_or_fail_with_a_config_error(
    examples: Path, source: str, seed: int, operations: int
) -> None:
    original = examples / source / "composition.yaml"
    # Beside the original, so that its relative paths (imports) resolve as they would.
    path = original.parent / f"mutant-{seed}.yaml"
    path.write_text(mutate(original.read_text(), seed, operations))
    try:
        compile_composition(read_composition(path))
    except ConfigError as exc:
        assert exc.problems, "a ConfigError must say what is wrong"
        for problem in exc.problems:
            assert str(problem)
    finally:
        path.unlink()
