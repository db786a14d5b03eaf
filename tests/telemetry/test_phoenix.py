"""One request through router, specialists and a merger, read back whole from a real Phoenix.

Phoenix keeps no resource attributes (service.name is dropped as spans arrive), so
each service is known here by what its spans say: a server span names the service
that served the call (`tutti.service`), under the router's client span for that
stage, and the router's flow-node spans sit between.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from tests.telemetry.phoenix import StoredSpan, wait_for_trace
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc
from workbench.mesh import Mesh
from workbench.traces import RunningPhoenix

# Phoenix's start (a database migration) and six services' start come before the first
# test: minutes on a busy 2-core machine. Every wait inside is bounded on its own.
pytestmark = pytest.mark.timeout(600)

COMPOSITION = Path(__file__).with_name("composition.yaml")
ROUTE = "/tutti.v1.RouterService/Route"
INVOKE = "/tutti.v1.StageService/Invoke"
MERGE = "/tutti.v1.MergerService/Merge"
CALL_TIMEOUT_S = 30.0
# "maybe" makes triage unsure (0.3 < 0.5), so the request escalates to the fan-out.
UNSURE_TICKET = "maybe an invoice problem"
# Route, the route node, the fan-out node; a stage span, a client and a server span for
# each of triage, careful and thorough; the merger's client and server spans.
SPANS_IN_TRACE = 3 + 3 * 3 + 2


@dataclass(frozen=True)
class TracedRequest:
    response: router_pb2.RouteResponse
    caller_span: str
    spans: list[StoredSpan]

    def named(self, name: str) -> list[StoredSpan]:
        return [s for s in self.spans if s.name == name]

    def children(self, parent: StoredSpan) -> list[StoredSpan]:
        return [s for s in self.spans if s.parent_id == parent.span_id]

    def by_id(self) -> dict[str, StoredSpan]:
        return {s.span_id: s for s in self.spans}


@pytest.fixture(scope="module")
def traced(phoenix: RunningPhoenix) -> Iterator[TracedRequest]:
    """One request, sent as a traced client would, its trace read back once it is all stored."""
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    # The services export only what `tutti traces` tells a user to export (plus a short
    # batch delay), whatever OTEL_* the developer running the tests has set.
    env = {**phoenix.viewer.otel_variables(), "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("OTEL_")]:
            patch.delenv(name)
        mesh = Mesh.start(COMPOSITION, env=env)
        try:
            response = _route(mesh.router_address, trace_id, caller_span)
        finally:
            # Each service flushes its spans as the last step of its stop.
            mesh.stop()
    yield TracedRequest(response, caller_span, wait_for_trace(phoenix, trace_id, SPANS_IN_TRACE))


def _route(address: str, trace_id: str, caller_span: str) -> router_pb2.RouteResponse:
    request = router_pb2.RouteRequest(
        composition="traced-desk",
        input=pack(payloads_pb2.Text(text=UNSURE_TICKET)),
        options=router_pb2.RouteOptions(no_cache=True),
    )
    with grpc.insecure_channel(address) as channel:
        response: router_pb2.RouteResponse = router_pb2_grpc.RouterServiceStub(channel).Route(
            request,
            metadata=(("traceparent", f"00-{trace_id}-{caller_span}-01"),),
            timeout=CALL_TIMEOUT_S,
        )
    return response


def _served(span: StoredSpan) -> str | None:
    """The service that served this span's call: only server spans name it (`tutti.service`)."""
    served = span.attributes.get("tutti.service")
    return served if isinstance(served, str) else None


def _chains_to(span: StoredSpan, by_id: dict[str, StoredSpan], root: StoredSpan) -> bool:
    seen: set[str] = set()
    while span.span_id != root.span_id:
        if span.parent_id not in by_id or span.span_id in seen:
            return False
        seen.add(span.span_id)
        span = by_id[span.parent_id]
    return True


def test_the_request_escalated_through_the_fanout_and_its_merger(traced: TracedRequest) -> None:
    """What the trace below must show, as the client's Execution tells it."""
    execution = traced.response.execution
    assert list(execution.path) == [
        "route:triage=billing@0.30<0.5->escalate:fanout",
        "fanout:merged careful,thorough",
    ]
    assert sorted(run.stage for run in execution.stages) == [
        "careful",
        "pick",
        "thorough",
        "triage",
    ]


def test_phoenix_holds_one_tree_from_the_router_through_every_specialist_and_the_merger(
    traced: TracedRequest,
) -> None:
    (route,) = traced.named(ROUTE)
    # The router continues the caller's trace, and every span hangs under its Route span.
    assert route.parent_id == traced.caller_span
    assert _served(route) == "tutti-router"
    assert route.attributes["rpc.service"] == "tutti.v1.RouterService"
    by_id = traced.by_id()
    assert all(_chains_to(s, by_id, route) for s in traced.spans)

    # Each specialist's server span sits under the router's client call for its stage.
    specialists = [run.stage for run in traced.response.execution.stages if run.stage != "pick"]
    for stage in specialists:
        (stage_span,) = traced.named(f"stage {stage}")
        assert stage_span.attributes["tutti.stage"] == stage
        (call,) = traced.children(stage_span)
        assert (call.name, _served(call)) == (INVOKE, None)
        (served,) = traced.children(call)
        assert (served.name, _served(served)) == (INVOKE, "tutti-specialist")
        assert served.attributes["rpc.service"] == "tutti.v1.StageService"

    # The merger's server span sits under the router's Merge call from the fan-out node.
    (fanout,) = traced.named("fanout")
    assert fanout.attributes["tutti.stage"] == "pick"
    (merge_call,) = [s for s in traced.children(fanout) if s.name == MERGE]
    assert _served(merge_call) is None
    (merged,) = traced.children(merge_call)
    assert (merged.name, _served(merged)) == (MERGE, "tutti-merger")
    assert merged.attributes["rpc.service"] == "tutti.v1.MergerService"
    assert len(traced.spans) == SPANS_IN_TRACE


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        pytest.param(attribute, expected, id=attribute)
        for attribute, expected in [
            ("tutti.route.label", "billing"),
            ("tutti.route.confidence", pytest.approx(0.3)),
            ("tutti.route.case", "fanout"),
            ("tutti.escalate.confidence", pytest.approx(0.3)),
            ("tutti.escalate.threshold", pytest.approx(0.5)),
            ("tutti.escalate.tier", "fanout"),
        ]
    ],
)
def test_the_route_span_in_phoenix_says_why_the_request_escalated(
    traced: TracedRequest, attribute: str, expected: object
) -> None:
    (route_node,) = traced.named("route:triage")
    assert route_node.attributes.get(attribute) == expected, route_node.attributes
