"""Exporting from real services: an unreachable collector is logged once and once recovered; console spans are one line each."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from tests.otlp_receiver import OtlpReceiver
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc
from workbench.mesh import Mesh

# Upper bound for what should happen within a few export intervals; only reached on failure.
WAIT_S = 30.0
CALL_TIMEOUT_S = 30.0

ECHO = """composition: echoes
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  echo: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text, serve: {backend: python, factory: "tests.stages:echo"}}
flow:
  sequence: [echo, echo]
"""
ROUTE = "/tutti.v1.RouterService/Route"
FAILING = "cannot export {signal} to"
RECOVERED = "exporting {signal} to"
# What the SDK logs per batch while an endpoint is down, which must not reach the log.
PER_BATCH = ("Failed to export", "Transient error", "Queue full")


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the developer's OTEL_* variables so only the test's own apply."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def closed_port() -> Iterator[socket.socket]:
    """A loopback port held bound but not listening: connecting to it is refused."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    yield held
    held.close()


class _ReceiverOn(OtlpReceiver):
    """The test receiver on a port of the test's choosing: where the services already export."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self._chosen = port

    def start(self) -> _ReceiverOn:
        self.port = self._server.add_insecure_port(f"127.0.0.1:{self._chosen}")
        self._server.start()
        return self


class _Log:
    """The services' stderr as captured so far (they write to the test's own fd 2)."""

    def __init__(self, capfd: pytest.CaptureFixture[str]) -> None:
        self._capfd = capfd
        self._text = ""

    def text(self) -> str:
        self._text += self._capfd.readouterr().err
        return self._text

    def count(self, needle: str) -> int:
        return self.text().count(needle)

    def wait_until(self, holds: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not holds():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not logged within {WAIT_S:g}s:\n{self.text()[-3000:]}")
            time.sleep(0.05)  # polling a log against a deadline, not waiting out a guess


def _route(stub: router_pb2_grpc.RouterServiceStub) -> None:
    request = router_pb2.RouteRequest(
        composition="echoes", input=pack(payloads_pb2.Text(text="hello"))
    )
    response = stub.Route(request, timeout=CALL_TIMEOUT_S)
    assert [s.stage for s in response.execution.stages] == ["echo", "echo"]


def test_an_unreachable_collector_is_logged_once_and_its_recovery_once(
    no_otel_env: None,
    closed_port: socket.socket,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    port = closed_port.getsockname()[1]
    (tmp_path / "composition.yaml").write_text(ECHO)
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        # Each failed batch gives up after one attempt, so many fail while the test runs.
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
    }
    log = _Log(capfd)
    mesh = Mesh.start(tmp_path / "composition.yaml", env=env)
    receiver: OtlpReceiver | None = None
    try:
        with grpc.insecure_channel(mesh.router_address) as channel:
            stub = router_pb2_grpc.RouterServiceStub(channel)
            # Requests are answered while nothing receives their spans.
            _route(stub)
            traces_failing = FAILING.format(signal="traces")
            log.wait_until(lambda: log.count(traces_failing) >= 2, "both services failing")
            for _ in range(30):
                _route(stub)
            metrics_failing = FAILING.format(signal="metrics")
            log.wait_until(lambda: log.count(metrics_failing) >= 1, "the router's metrics failing")

            closed_port.close()
            receiver = _ReceiverOn(port).start()
            traces_back = RECOVERED.format(signal="traces")
            metrics_back = RECOVERED.format(signal="metrics")

            def recovered() -> bool:
                _route(stub)
                return log.count(traces_back) >= 2 and log.count(metrics_back) >= log.count(
                    metrics_failing
                )

            log.wait_until(recovered, "both services exporting again")
            spans = receiver.wait_for_spans(1, lambda span: span.name == ROUTE)
            assert {s.service for s in spans} == {"tutti-router"}
    finally:
        mesh.stop()
        if receiver is not None:
            receiver.stop()

    text = log.text()
    # One line each when the endpoint started failing, one when it answered again:
    # the router's and the stage's traces, and at most each service's metrics.
    assert text.count(traces_failing) == 2
    assert text.count(traces_back) == 2
    assert 1 <= text.count(metrics_failing) <= 2
    assert text.count(metrics_back) == text.count(metrics_failing)
    assert not [line for line in text.splitlines() if any(n in line for n in PER_BATCH)]


def test_console_spans_are_one_json_line_each(
    no_otel_env: None, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "composition.yaml").write_text(ECHO)
    env = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "50"}
    log = _Log(capfd)
    mesh = Mesh.start(tmp_path / "composition.yaml", env=env)
    try:
        with grpc.insecure_channel(mesh.router_address) as channel:
            _route(router_pb2_grpc.RouterServiceStub(channel))
    finally:
        mesh.stop()  # each service flushes its spans as it stops
    spans = [json.loads(line) for line in log.text().splitlines() if line.startswith("{")]
    names = [span["name"] for span in spans]
    # The router's server span, the sequence, two stage spans with their client spans, and
    # the specialist's two server spans: each a whole JSON object on its own line.
    assert names.count(ROUTE) == 1
    assert names.count("stage echo") == 2
    assert names.count("/tutti.v1.StageService/Invoke") == 4
    route_trace = next(span["context"]["trace_id"] for span in spans if span["name"] == ROUTE)
    assert {span["context"]["trace_id"] for span in spans if "Invoke" in span["name"]} == {
        route_trace
    }
