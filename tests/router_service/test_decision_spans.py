"""Why a request went where it did: each flow node's decision on its span and in `execution`.

Real router and specialists on loopback; spans from the in-memory exporter. Each test reads
the same decision twice, from the node's span and from the RouteResponse's
`execution.decisions`, since a trace backend and a client each see only one of them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import output_text, ran, text_request
from tutti.v1 import payloads_pb2, router_pb2

Decision = router_pb2.Decision


def node_span(spans: Any, name: str) -> Any:
    """The one finished span of the flow node `name`."""
    (found,) = [span for span in spans.get_finished_spans() if span.name == name]
    return found


def label_of(response: router_pb2.RouteResponse) -> str:
    out = payloads_pb2.Classification()
    assert response.output.Unpack(out)
    return out.label


ROUTE = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  triage:
    endpoint: x
    serve:
      backend: python
      factory: "tests.stages:keyword_classifier"
      options: {rules: {password: account}, default: other, confidence: 0.9, low_confidence_words: [maybe], low_confidence: 0.3}
  account: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " [account]"}}}
  general: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " [general]"}}}
  strong: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " [strong]"}}}
flow:
  route:
    by: triage
    cases: {account: account}
    default: general
    escalate: {below: 0.5, to: strong}
"""


async def test_a_confident_route_names_label_confidence_and_case_and_the_threshold_it_cleared(
    mesh, spans
) -> None:
    m: InLoopMesh = await mesh(ROUTE)
    response = await m.stub.Route(text_request("my password"))
    assert output_text(response) == "my password [account]"
    attributes = node_span(spans, "route:triage").attributes
    assert attributes["tutti.route.label"] == "account"
    assert attributes["tutti.route.confidence"] == pytest.approx(0.9)
    assert attributes["tutti.route.case"] == "account"
    assert attributes["tutti.escalate.threshold"] == pytest.approx(0.5)
    assert attributes["tutti.escalate.tier"] == "account"
    (decision,) = response.execution.decisions
    assert (decision.node, decision.kind, decision.source) == (
        "route:triage",
        Decision.KIND_ROUTE,
        "triage",
    )
    assert (decision.label, decision.taken, decision.degraded) == ("account", "account", False)
    assert decision.confidence == pytest.approx(0.9)
    assert decision.threshold == pytest.approx(0.5)


async def test_an_unsure_route_escalates_and_says_which_confidence_fell_under_which_threshold(
    mesh, spans
) -> None:
    m: InLoopMesh = await mesh(ROUTE)
    response = await m.stub.Route(text_request("maybe my password"))
    assert output_text(response) == "maybe my password [strong]"
    attributes = node_span(spans, "route:triage").attributes
    assert attributes["tutti.route.label"] == "account"
    assert attributes["tutti.route.confidence"] == pytest.approx(0.3)
    assert attributes["tutti.route.case"] == "strong"
    assert attributes["tutti.escalate.confidence"] == pytest.approx(0.3)
    assert attributes["tutti.escalate.threshold"] == pytest.approx(0.5)
    assert attributes["tutti.escalate.tier"] == "strong"
    (decision,) = response.execution.decisions
    assert (decision.label, decision.taken) == ("account", "strong")
    assert decision.confidence == pytest.approx(0.3)
    assert decision.threshold == pytest.approx(0.5)
    # The words in `path` stay for the clients that read them.
    assert response.execution.path == ["route:triage=account@0.30<0.5->escalate:strong"]


NODES = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
budget: {cost_usd: 0.05}
stages:
  cheap: {endpoint: x, price: {per_call_usd: 0.002}, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: cheap, confidence: 0.4}}}
  sure: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: sure, confidence: 0.9}}}
  strong: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: strong, confidence: 0.99}}}
  pricey: {endpoint: x, price: {per_call_usd: 0.06}, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: pricey, confidence: 0.99}}}
  broken: {endpoint: x, retry: false, serve: {backend: python, factory: "tests.stages:failing", options: {output_type: tutti.v1.Classification}}}
flows:
  escalates: {escalate: {from: cheap, tiers: [{below: 0.7, to: strong}]}}
  too_dear: {escalate: {from: cheap, tiers: [{below: 0.7, to: pricey}]}}
  stops_early: {cascade: {steps: [sure, strong], below: 0.7}}
  runs_to_the_end: {cascade: {steps: [cheap, strong], below: 0.7}}
  falls_back: {fallback: [broken, strong]}
flow: escalates
"""


def nodes(flow: str) -> str:
    return NODES.replace("flow: escalates", f"flow: {flow}")


async def test_an_escalation_below_its_threshold_names_the_tier_it_took(mesh, spans) -> None:
    m: InLoopMesh = await mesh(nodes("escalates"))
    response = await m.stub.Route(text_request("q"))
    assert label_of(response) == "strong"
    attributes = node_span(spans, "escalate").attributes
    assert attributes["tutti.escalate.confidence"] == pytest.approx(0.4)
    assert attributes["tutti.escalate.threshold"] == pytest.approx(0.7)
    assert attributes["tutti.escalate.tier"] == "strong"
    (decision,) = response.execution.decisions
    assert (decision.node, decision.kind) == ("escalate", Decision.KIND_ESCALATE)
    assert (decision.source, decision.taken, decision.degraded) == ("cheap", "strong", False)
    assert decision.confidence == pytest.approx(0.4)
    assert decision.threshold == pytest.approx(0.7)


async def test_an_escalation_the_budget_cannot_pay_for_keeps_the_cheap_answer_and_says_why(
    mesh, spans
) -> None:
    m: InLoopMesh = await mesh(nodes("too_dear"))
    response = await m.stub.Route(text_request("q"))
    assert label_of(response) == "cheap"
    assert ran(response) == ["cheap", "pricey"]  # pricey's record is the degraded one
    attributes = node_span(spans, "escalate").attributes
    assert "cost cap of $0.05" in attributes["tutti.degraded"]
    assert attributes["tutti.degraded.skipped"] == "pricey"
    assert attributes["tutti.escalate.tier"] == "cheap"
    assert attributes["tutti.escalate.confidence"] == pytest.approx(0.4)
    (decision,) = response.execution.decisions
    assert (decision.taken, decision.degraded) == ("cheap", True)
    assert decision.reason == attributes["tutti.degraded"]
    assert decision.confidence < decision.threshold


async def test_a_cascade_that_stops_early_names_the_step_kept_and_its_confidence(
    mesh, spans
) -> None:
    m: InLoopMesh = await mesh(nodes("stops_early"))
    response = await m.stub.Route(text_request("q"))
    assert label_of(response) == "sure" and ran(response) == ["sure"]
    attributes = node_span(spans, "cascade").attributes
    assert attributes["tutti.cascade.step"] == "sure"
    assert attributes["tutti.cascade.confidence"] == pytest.approx(0.9)
    assert attributes["tutti.cascade.threshold"] == pytest.approx(0.7)
    (decision,) = response.execution.decisions
    assert (decision.kind, decision.source, decision.taken) == (
        Decision.KIND_CASCADE,
        "sure",
        "sure",
    )
    assert decision.confidence == pytest.approx(0.9)


async def test_a_cascade_that_runs_to_its_last_step_names_the_confidence_that_sent_it_there(
    mesh, spans
) -> None:
    m: InLoopMesh = await mesh(nodes("runs_to_the_end"))
    response = await m.stub.Route(text_request("q"))
    assert label_of(response) == "strong" and ran(response) == ["cheap", "strong"]
    attributes = node_span(spans, "cascade").attributes
    assert attributes["tutti.cascade.step"] == "strong"
    assert attributes["tutti.cascade.from"] == "cheap"
    assert attributes["tutti.cascade.confidence"] == pytest.approx(0.4)
    assert attributes["tutti.cascade.threshold"] == pytest.approx(0.7)
    (decision,) = response.execution.decisions
    assert (decision.source, decision.taken) == ("cheap", "strong")
    assert decision.confidence == pytest.approx(0.4)
    assert decision.threshold == pytest.approx(0.7)


async def test_a_fallback_after_a_failing_primary_names_the_failure_and_the_step_taken(
    mesh, spans
) -> None:
    m: InLoopMesh = await mesh(nodes("falls_back"))
    response = await m.stub.Route(text_request("q"))
    assert label_of(response) == "strong"
    attributes = node_span(spans, "fallback").attributes
    assert attributes["tutti.fallback.to"] == "strong"
    assert attributes["tutti.fallback.from"] == "broken"
    # The model raised; the specialist answers INTERNAL and keeps its message to itself.
    assert attributes["tutti.fallback.reason"].startswith("stage 'broken': INTERNAL: ")
    (decision,) = response.execution.decisions
    assert (decision.kind, decision.source, decision.taken) == (
        Decision.KIND_FALLBACK,
        "broken",
        "strong",
    )
    assert decision.reason == attributes["tutti.fallback.reason"]


SPLIT = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  a: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-a"}}}
  b: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-b"}}}
flow:
  split:
    - {weight: 1, to: a}
    - {weight: 1, to: b}
"""


async def test_a_split_names_the_arm_that_answered(mesh, spans) -> None:
    m: InLoopMesh = await mesh(SPLIT)
    response = await m.stub.Route(text_request("x"))
    (answered,) = ran(response)
    assert node_span(spans, "split").attributes["tutti.split.arm"] == answered
    (decision,) = response.execution.decisions
    assert (decision.kind, decision.taken) == (Decision.KIND_SPLIT, answered)


async def test_decisions_nest_in_the_order_they_are_made(mesh, spans) -> None:
    """A route whose case is a cascade: the route's decision comes first, the cascade's after."""
    m: InLoopMesh = await mesh(
        NODES.replace(
            "flow: escalates",
            "flow:\n  route:\n    by: cheap\n    cases: {cheap: runs_to_the_end}\n    default: sure",
        )
    )
    response = await m.stub.Route(text_request("q"))
    assert [(d.kind, d.taken) for d in response.execution.decisions] == [
        (Decision.KIND_ROUTE, "cascade"),
        (Decision.KIND_CASCADE, "strong"),
    ]
