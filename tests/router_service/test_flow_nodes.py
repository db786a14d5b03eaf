"""Flow nodes end to end over the wire: real router, specialists and merger on loopback.

Each node kind's semantics are tested on in-memory stages in tests/router_service/engine/;
here are the cases where what crosses the wire matters (model names, a late branch
cancelled at its server, a nested flow through real services).
"""

from __future__ import annotations

import pytest

from tests.conftest import InLoopMesh
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2

OK = router_pb2.StageRun.STATUS_OK


def text_request(text: str, composition: str = "t") -> router_pb2.RouteRequest:
    return router_pb2.RouteRequest(
        composition=composition, input=pack(payloads_pb2.Text(text=text))
    )


def output_text(response: router_pb2.RouteResponse) -> str:
    out = payloads_pb2.Text()
    assert response.output.Unpack(out)
    return out.text


def ran(response: router_pb2.RouteResponse) -> list[str]:
    return [s.stage for s in response.execution.stages]


SEQUENCE = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  a: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-a"}}}
  b: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-b"}}, price: {per_call_usd: 0.01}}
  c: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-c"}}, budget_ms: 1000}
flow:
  sequence: [a, b, c]
"""


async def test_sequence_feeds_each_output_to_the_next_stage(mesh) -> None:
    m: InLoopMesh = await mesh(SEQUENCE)
    response = await m.stub.Route(text_request("x"))
    assert output_text(response) == "x-a-b-c"
    assert ran(response) == ["a", "b", "c"]
    assert all(s.status == OK for s in response.execution.stages)
    assert response.execution.total_cost_usd == pytest.approx(0.01)
    assert response.execution.stages[2].budget_ms == 1000
    assert response.execution.stages[0].model == "tests.stages:suffix"


FANOUT = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  a: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: pos, confidence: 0.9}}}
  b: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: pos, confidence: 0.7}}}
  c: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: neg, confidence: 0.6}}}
  late: {endpoint: x, serve: {backend: python, factory: "tests.stages:slow", options: {delay_ms: 3000, output_type: tutti.v1.Classification}}, validate: false}
  broken: {endpoint: x, serve: {backend: python, factory: "tests.stages:failing", options: {output_type: tutti.v1.Classification}}}
  merger: {endpoint: x, kind: merger}
flows:
  all_answer:
    fanout:
      branches: [a, b, c]
      merge: {by: merger, strategy: majority_vote}
  one_late:
    fanout:
      branches: [a, b, late]
      merge: {by: merger, strategy: probability_average}
      quorum: 2
      budget_ms: 300
  one_failing:
    fanout:
      branches: [a, broken, c]
      merge: {by: merger, strategy: highest_confidence}
      quorum: 2
  too_few:
    fanout:
      branches: [a, late, broken]
      merge: {by: merger, strategy: majority_vote}
      quorum: 2
      budget_ms: 300
flow: all_answer
"""


def _composition_with_flow(text: str, flow: str) -> str:
    return text.replace("flow: all_answer", f"flow: {flow}")


async def test_fanout_merges_what_arrived_when_a_branch_is_slower_than_the_fanout_budget(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(_composition_with_flow(FANOUT, "one_late"))
    response = await m.stub.Route(text_request("q"))
    out = payloads_pb2.Classification()
    response.output.Unpack(out)
    assert out.label == "pos"
    assert "fanout:late late" in response.execution.path
    assert response.execution.path[-1] == "fanout:merged a,b"
    assert m.models["late"].calls == 1


NESTED = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  prep: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " please"}}}
  triage:
    endpoint: x
    serve: {backend: python, factory: "tests.stages:keyword_classifier", options: {rules: {refund: billing}, default: other}}
  billing: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: refund, confidence: 0.8}}}
  other: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: other, confidence: 0.5}}}
  second: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: refund, confidence: 0.6}}}
  merger: {endpoint: x, kind: merger}
flow:
  sequence:
    - prep
    - fanout:
        branches:
          routed:
            route: {by: triage, cases: {billing: billing}, default: other}
          second: second
        merge: {by: merger, strategy: confidence_weighted_vote}
"""


async def test_route_nested_in_a_fanout_nested_in_a_sequence(mesh) -> None:
    m: InLoopMesh = await mesh(NESTED)
    response = await m.stub.Route(text_request("I want a refund"))
    out = payloads_pb2.Classification()
    response.output.Unpack(out)
    assert out.label == "refund"
    # Branches run concurrently, so only the first stage has a fixed place in the record.
    assert ran(response)[0] == "prep" and sorted(ran(response)[1:]) == [
        "billing",
        "merger",
        "second",
        "triage",
    ]
    assert "route:triage=billing->billing" in response.execution.path
    assert m.models["triage"].seen[0].text == "I want a refund please"
    assert m.models["other"].calls == 0
