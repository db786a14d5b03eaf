"""Budgets over the wire: a cost cap's status code, spans carrying budgets and costs.

Degrading, cost caps and fan-out windows are tested on in-memory stages in
tests/router_service/engine/test_budget.py.
"""

from __future__ import annotations

import grpc
import pytest
from grpc import aio

from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import text_request
from tutti.v1 import payloads_pb2, router_pb2

DEGRADE = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
budget: {latency_ms: 1000, cost_usd: 0.05}
stages:
  cheap:
    endpoint: x
    price: {per_call_usd: 0.002}
    budget_ms: 500
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: cheap, confidence: 0.3}}
  slow_strong:
    endpoint: x
    serve:
      backend: python
      factory: "tests.stages:fixed_classification"
      options: {label: strong, confidence: 0.99}
      expected_latency_ms: 5000
  pricey_strong:
    endpoint: x
    price: {per_call_usd: 0.06}
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: strong, confidence: 0.99}}
  fine_strong:
    endpoint: x
    price: {per_call_usd: 0.01}
    serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: strong, confidence: 0.99}}
flows:
  too_slow: {escalate: {from: cheap, tiers: [{below: 0.7, to: slow_strong}]}}
  too_dear: {escalate: {from: cheap, tiers: [{below: 0.7, to: pricey_strong}]}}
  affordable: {escalate: {from: cheap, tiers: [{below: 0.7, to: fine_strong}]}}
  cascade_too_dear: {cascade: {steps: [cheap, pricey_strong], below: 0.7}}
flow: too_slow
"""


def _label(response: router_pb2.RouteResponse) -> str:
    out = payloads_pb2.Classification()
    response.output.Unpack(out)
    return out.label


async def test_a_request_whose_cheapest_path_is_over_the_cap_fails_naming_the_cap(mesh) -> None:
    m: InLoopMesh = await mesh(DEGRADE.replace("flow: too_slow", "flow: too_dear"))
    request = text_request("q")
    request.options.max_cost_usd = 0.001
    with pytest.raises(aio.AioRpcError) as caught:
        await m.stub.Route(request)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "cost cap of $0.001" in caught.value.details()


OVER_BUDGET = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  quick: {endpoint: x, budget_ms: 1000, price: {per_call_usd: 0.001}, serve: {backend: python, factory: "tests.stages:echo"}}
  sluggish: {endpoint: x, budget_ms: 1, serve: {backend: python, factory: "tests.stages:slow", options: {delay_ms: 30}}}
flow:
  sequence: [quick, sluggish]
"""


async def test_spans_carry_budget_elapsed_cost_and_flag_the_stage_over_its_budget(
    mesh, spans
) -> None:
    m: InLoopMesh = await mesh(OVER_BUDGET)
    response = await m.stub.Route(text_request("q"))
    assert [s.over_budget for s in response.execution.stages] == [False, True]
    by_name = {span.name: span for span in spans.get_finished_spans()}
    sluggish = by_name["stage sluggish"]
    assert sluggish.attributes["tutti.over_budget"] is True
    assert sluggish.attributes["tutti.budget_ms"] == 1
    assert sluggish.attributes["tutti.elapsed_ms"] >= 30
    quick = by_name["stage quick"]
    assert quick.attributes["tutti.cost_usd"] == pytest.approx(0.001)
    assert quick.attributes["tutti.over_budget"] is False
    assert quick.attributes["gen_ai.request.model"] == "tests.stages:echo"
    sequence = by_name["sequence"]
    assert quick.parent.span_id == sequence.context.span_id
    assert sequence.attributes["tutti.composition"] == "t"


CAPS = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Classification
budget: {cost_usd: 0.05}
stages:
  a: {endpoint: x, price: {per_call_usd: 0.03}, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: a}}}
  b: {endpoint: x, price: {per_call_usd: 0.03}, serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: b}}}
  merger: {endpoint: x, kind: merger}
flows:
  both: {fanout: {branches: [a, b], merge: {by: merger, strategy: majority_vote}}}
flow: both
"""


async def test_a_cost_cap_that_is_not_a_number_is_an_invalid_argument(mesh) -> None:
    m: InLoopMesh = await mesh(CAPS)
    request = text_request("q")
    request.options.max_cost_usd = float("nan")
    with pytest.raises(aio.AioRpcError) as caught:
        await m.stub.Route(request)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("options.max_cost_usd:")
