"""Telemetry from OTEL_* variables alone: off by default, one trace per request when exported."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.otlp_receiver import OtlpReceiver, ReceivedSpan, otlp_receiver  # noqa: F401
from tutti.errors import ConfigError
from tutti.messages import pack
from tutti.telemetry import setup_telemetry
from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc
from workbench.mesh import Mesh

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples/quickstart/composition.yaml"
ROUTE = "/tutti.v1.RouterService/Route"
INVOKE = "/tutti.v1.StageService/Invoke"
SERVER = trace_pb2.Span.SPAN_KIND_SERVER
CLIENT = trace_pb2.Span.SPAN_KIND_CLIENT
CALL_TIMEOUT_S = 30.0

# What a service with nothing configured reports about its telemetry, from a
# fresh interpreter: a tracer provider installed by another test must not leak in.
NOTHING_CONFIGURED = """
import json
from tutti.telemetry import setup_telemetry, tracing_enabled
telemetry = setup_telemetry("tutti-test")
print(json.dumps({
    "enabled": telemetry.enabled,
    "tracing": tracing_enabled(),
}))
telemetry.shutdown()
"""


def _without_otel() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the developer's OTEL_* variables so only the test's own apply."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


def test_nothing_configured_installs_nothing_and_traces_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NOTHING_CONFIGURED],
        cwd=ROOT,
        env=_without_otel(),
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_S,
        check=True,
    )
    assert json.loads(result.stdout) == {"enabled": False, "tracing": False}


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
        },
    ],
    ids=["sdk-disabled", "exporters-none"],
)
def test_telemetry_switched_off_exports_nothing_despite_an_endpoint(
    no_otel_env: None, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    telemetry = setup_telemetry("tutti-test")
    assert not telemetry.enabled
    telemetry.shutdown()


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("OTEL_TRACES_EXPORTER", "jaeger", "unknown exporter 'jaeger'"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "'http/protobuf' is not supported"),
    ],
)
def test_an_unusable_exporter_setting_is_refused_at_start_up(
    no_otel_env: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named) as raised:
        setup_telemetry("tutti-test")
    assert name in str(raised.value)


def _route(
    address: str, request: router_pb2.RouteRequest, trace_id: str, parent_id: str
) -> router_pb2.RouteResponse | None:
    """Send one Route call as if from a traced client: W3C traceparent in the metadata.

    None when the router answers NOT_FOUND.
    """
    with grpc.insecure_channel(address) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        metadata = (("traceparent", f"00-{trace_id}-{parent_id}-01"),)
        try:
            response: router_pb2.RouteResponse = stub.Route(
                request, metadata=metadata, timeout=CALL_TIMEOUT_S
            )
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                raise
            return None
        return response


def _check_health(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT_S
        )
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def _chain_to(span: ReceivedSpan, by_id: dict[str, ReceivedSpan], root_id: str) -> bool:
    """Whether following parents from `span` reaches the span `root_id`."""
    seen: set[str] = set()
    while span.span_id != root_id:
        if span.parent_id not in by_id or span.span_id in seen:
            return False
        seen.add(span.span_id)
        span = by_id[span.parent_id]
    return True


def test_one_request_is_one_trace_across_router_and_specialists(
    no_otel_env: None,
    otlp_receiver: OtlpReceiver,  # noqa: F811 - the fixture imported above
) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
    }
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    missing_trace = secrets.token_hex(16)
    text = pack(payloads_pb2.Text(text="I was charged twice for my order"))
    mesh = Mesh.start(QUICKSTART, env=env)
    try:
        request = router_pb2.RouteRequest(
            composition="quickstart", input=text, options=router_pb2.RouteOptions(no_cache=True)
        )
        response = _route(mesh.router_address, request, caller_trace, caller_span)
        missing = router_pb2.RouteRequest(composition="no-such-composition", input=text)
        _route(mesh.router_address, missing, missing_trace, secrets.token_hex(8))
        _check_health(mesh.router_address)
        _check_health(next(iter(mesh.endpoints.values())))
    finally:
        # Each service flushes its spans and metrics as the last step of its stop.
        mesh.stop()

    otlp_receiver.wait_for_span(ROUTE)
    spans = otlp_receiver.spans()
    request_spans = [s for s in spans if s.trace_id == caller_trace]
    by_id = {s.span_id: s for s in request_spans}

    # The router continues the caller's trace.
    (route,) = [s for s in request_spans if s.name == ROUTE]
    assert (route.kind, route.service, route.parent_id) == (SERVER, "tutti-router", caller_span)

    # Every stage call is a router client span with the specialist's server span under it.
    calls = {s.span_id: s for s in request_spans if s.name == INVOKE and s.kind == CLIENT}
    served = [s for s in request_spans if s.name == INVOKE and s.kind == SERVER]
    assert len(calls) >= 2  # triage, then at least the reply and the sign-off
    assert {s.service for s in calls.values()} == {"tutti-router"}
    assert {s.service for s in served} == {"tutti-specialist"}
    assert sorted(s.parent_id for s in served) == sorted(calls)

    # No stage call started a trace of its own: one request, one trace, one tree.
    invokes = [s for s in spans if s.name == INVOKE]
    assert {s.trace_id for s in invokes} == {caller_trace}
    assert all(_chain_to(s, by_id, route.span_id) for s in request_spans)

    # The server span records the code the client got, as the error interceptor mapped it
    # (semantic conventions leave NOT_FOUND's span status unset: a server fault it is not).
    (refused,) = [s for s in spans if s.trace_id == missing_trace]
    assert refused.name == ROUTE
    assert refused.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]

    assert not [s for s in spans if s.name.startswith("/grpc.")]

    # Under the gRPC spans, the router's own: one span per stage call carrying what the
    # client's Execution reports, and the route decision on the route node's span.
    assert response is not None
    ran = response.execution.stages
    stage_spans = [by_id[call.parent_id] for call in calls.values()]
    assert sorted(s.name for s in stage_spans) == sorted(f"stage {run.stage}" for run in ran)
    for run in ran:
        (span,) = [s for s in stage_spans if s.name == f"stage {run.stage}"]
        attributes = span.attributes
        assert (span.service, attributes["tutti.composition"]) == ("tutti-router", "quickstart")
        assert attributes["tutti.stage"] == attributes["tutti.node"] == run.stage
        assert attributes["tutti.cost_usd"] == pytest.approx(run.cost_usd)
        assert attributes["tutti.budget_ms"] == pytest.approx(run.budget_ms)
        assert attributes["tutti.over_budget"] is run.over_budget
        assert attributes["tutti.cache_hit"] is False
        assert attributes["gen_ai.request.model"] == run.model
        assert attributes["tutti.elapsed_ms"] > 0
    (route_node,) = [s for s in request_spans if s.name == "route:triage"]
    case = route_node.attributes["tutti.route.case"]
    assert f"route:triage={case}" in response.execution.path[0]

    # The router's metrics reach the same collector, flushed at the latest on stop.
    durations = otlp_receiver.wait_for_metric("tutti.stage.duration")
    assert {m.service for m in durations} == {"tutti-router"}
