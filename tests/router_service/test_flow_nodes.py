"""Each flow node end to end: real router, specialists and merger on loopback."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio

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
      options: {rules: {password: account, refund: billing}, default: other, low_confidence_words: [maybe]}
  account: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " [account]"}}}
  billing: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " [billing]"}}}
  general: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " [general]"}}}
  strong: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: " [strong]"}}}
flow:
  route:
    by: triage
    cases: {account: account, billing: billing}
    default: general
    escalate: {below: 0.5, to: strong}
"""


async def test_route_takes_the_case_of_the_label(mesh) -> None:
    m: InLoopMesh = await mesh(ROUTE)
    response = await m.stub.Route(text_request("I forgot my password"))
    assert output_text(response).endswith("[account]")
    assert ran(response) == ["triage", "account"]
    assert response.execution.path == ["route:triage=account->account"]


async def test_route_falls_back_to_default_for_labels_without_a_case(mesh) -> None:
    m: InLoopMesh = await mesh(ROUTE)
    response = await m.stub.Route(text_request("what are your opening hours"))
    assert output_text(response).endswith("[general]")
    assert ran(response) == ["triage", "general"]


async def test_route_escalates_decisions_below_the_confidence_threshold(mesh) -> None:
    m: InLoopMesh = await mesh(ROUTE)
    response = await m.stub.Route(text_request("maybe a refund?"))
    assert output_text(response).endswith("[strong]")
    assert ran(response) == ["triage", "strong"]
    assert "escalate:strong" in response.execution.path[0]
    assert m.models["billing"].calls == 0


CASCADE = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  broken: {endpoint: x, serve: {backend: python, factory: "tests.stages:invalid_classification"}}
  cheap: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: cheap, confidence: 0.4}}}
  mid: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: mid, confidence: 0.8}}}
  strong: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: strong, confidence: 0.99}}}
flow:
  cascade:
    steps: [broken, cheap, mid, strong]
    below: 0.7
"""


async def test_cascade_moves_past_invalid_and_unconfident_steps_and_stops_at_the_first_confident(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(CASCADE)
    response = await m.stub.Route(text_request("hello"))
    out = payloads_pb2.Classification()
    response.output.Unpack(out)
    assert out.label == "mid"
    assert ran(response) == ["broken", "cheap", "mid"]
    statuses = [s.status for s in response.execution.stages]
    assert statuses[0] == router_pb2.StageRun.STATUS_INVALID_OUTPUT
    assert m.models["strong"].calls == 0


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


async def test_fanout_merges_all_branches_when_every_one_answers(mesh) -> None:
    m: InLoopMesh = await mesh(FANOUT)
    response = await m.stub.Route(text_request("q"))
    out = payloads_pb2.Classification()
    response.output.Unpack(out)
    assert out.label == "pos"
    assert sorted(ran(response)) == ["a", "b", "c", "merger"]
    assert response.execution.path[-1] == "fanout:merged a,b,c"


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


async def test_fanout_survives_a_failing_branch_when_quorum_is_met(mesh) -> None:
    m: InLoopMesh = await mesh(_composition_with_flow(FANOUT, "one_failing"))
    response = await m.stub.Route(text_request("q"))
    out = payloads_pb2.Classification()
    response.output.Unpack(out)
    assert out.label == "pos" and out.confidence == pytest.approx(0.9)
    failed = [s for s in response.execution.stages if s.stage == "broken"]
    assert failed[0].status == router_pb2.StageRun.STATUS_FAILED


async def test_fanout_without_quorum_fails_naming_the_missing_branches(mesh) -> None:
    m: InLoopMesh = await mesh(_composition_with_flow(FANOUT, "too_few"))
    with pytest.raises(aio.AioRpcError) as caught:
        await m.stub.Route(text_request("q"))
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "late" in caught.value.details() and "broken" in caught.value.details()


SPLIT = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  stable: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-stable"}}}
  canary: {endpoint: x, serve: {backend: python, factory: "tests.stages:suffix", options: {text: "-canary"}}}
flow:
  split:
    - {weight: 3, to: stable}
    - {weight: 1, to: canary}
"""


async def test_split_sends_traffic_in_proportion_to_the_weights(mesh) -> None:
    m: InLoopMesh = await mesh(SPLIT)
    n = 400
    for i in range(n):
        await m.stub.Route(text_request(str(i)))
    canary = m.models["canary"].calls
    assert m.models["stable"].calls + canary == n
    # Binomial(400, 0.25): mean 100, sd 8.7; 5 sd either side fails about once in 3.5 million runs.
    assert 100 - 44 <= canary <= 100 + 44


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


ESCALATE = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  cheap:
    endpoint: x
    serve:
      backend: python
      factory: "tests.stages:keyword_classifier"
      options: {rules: {refund: billing}, default: other, low_confidence_words: [maybe], low_confidence: 0.6, confidence: 0.9}
  unsure:
    endpoint: x
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: unsure, confidence: 0.2}}
  strong: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: strong, confidence: 0.99}}}
  both: {endpoint: x, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: both, confidence: 0.95}}}
flows:
  main:
    escalate:
      from: cheap
      tiers:
        - {below: 0.7, to: strong}
        - {below: 0.3, to: both}
  least:
    escalate:
      from: unsure
      tiers: [{below: 0.3, to: both}, {below: 0.7, to: strong}]
flow: main
"""


async def test_escalate_keeps_a_confident_answer_and_hands_unsure_ones_to_the_tier_that_applies(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(ESCALATE)
    confident = await m.stub.Route(text_request("refund please"))
    out = payloads_pb2.Classification()
    confident.output.Unpack(out)
    assert out.label == "billing" and ran(confident) == ["cheap"]

    unsure = await m.stub.Route(text_request("maybe a refund"))
    unsure.output.Unpack(out)
    assert out.label == "strong" and ran(unsure) == ["cheap", "strong"]
    assert unsure.execution.path == ["escalate@0.60<0.7->strong"]
    assert m.models["both"].calls == 0


async def test_escalate_sends_the_least_confident_to_the_lowest_tier(mesh) -> None:
    m: InLoopMesh = await mesh(ESCALATE.replace("flow: main", "flow: least"))
    response = await m.stub.Route(text_request("anything"))
    out = payloads_pb2.Classification()
    response.output.Unpack(out)
    assert out.label == "both" and ran(response) == ["unsure", "both"]
    assert m.models["strong"].calls == 0
