"""A python-backend specialist served for real: Invoke, Describe and how failures reach clients."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf import any_pb2, descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc

from specialist_service import SpecialistConfig, service
from tests.stages import Slow
from tutti.messages import pack
from tutti.server import Server
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2, stage_pb2, stage_pb2_grpc

if TYPE_CHECKING:
    from tests.specialist_service.conftest import Serve


def python_config(factory: str, stage: str = "model", **extra: object) -> SpecialistConfig:
    data = {"stage": stage, "backend": "python", "factory": factory, **extra}
    return SpecialistConfig.from_mapping(data, source="test-config.yaml")


def invoke_request(msg: payloads_pb2.Text | support_pb2.Ticket) -> stage_pb2.InvokeRequest:
    return stage_pb2.InvokeRequest(input=pack(msg), stage="caller-name")


async def test_invoke_returns_the_output_with_usage_and_model(serve: Serve) -> None:
    config = python_config(
        "tests.stages:echo",
        options={"report_tokens": True},
        name="echo",
        version="3",
        price={
            "per_call_usd": 0.001,
            "per_1k_input_tokens_usd": 1.0,
            "per_1k_output_tokens_usd": 2.0,
        },
    )
    served = await serve(config)
    response = await served.stub.Invoke(
        invoke_request(payloads_pb2.Text(text="my card was charged twice"))
    )
    output = payloads_pb2.Text()
    assert response.output.Unpack(output)
    assert output.text == "my card was charged twice"
    assert (response.model.name, response.model.version) == ("echo", "3")
    assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 5)
    assert response.usage.cost_usd == pytest.approx(0.001 + 5 * 1.0 / 1000 + 5 * 2.0 / 1000)
    assert not response.usage.cache_hit
    assert served.backend.model.calls == 1  # type: ignore[attr-defined]


BURN_MS = 20.0


class Busy:
    """Spends BURN_MS of its thread's CPU time on each prediction, then echoes the text."""

    input_type = output_type = "tutti.v1.Text"

    def predict(self, msg: payloads_pb2.Text) -> payloads_pb2.Text:
        start = time.thread_time()
        while time.thread_time() - start < BURN_MS / 1000:
            pass
        return msg


async def test_compute_ms_is_the_cpu_time_the_model_spent(serve: Serve) -> None:
    served = await serve(python_config(f"{__name__}:Busy"))
    response = await served.stub.Invoke(invoke_request(payloads_pb2.Text(text="x")))
    # A field left unset, or time measured around something else, would read close to 0.
    assert response.usage.compute_ms >= BURN_MS


async def test_describe_returns_types_loadable_descriptors_and_model_card(serve: Serve) -> None:
    config = python_config(
        "tests.stages:keyword_classifier",
        stage="triage",
        options={
            "rules": {"refund": "billing"},
            "default": "other",
            "input_type": "tutti.support.v1.Ticket",
        },
        price={"per_call_usd": 0.002},
        expected_latency_ms=15,
        description="keyword triage",
    )
    served = await serve(config)
    described = await served.stub.Describe(stage_pb2.DescribeRequest())
    assert described.stage == "triage"
    assert (described.input_type, described.output_type) == (
        "tutti.support.v1.Ticket",
        "tutti.v1.Classification",
    )
    card = described.model_card
    assert (card.name, card.version, card.description) == (
        "tests.stages:keyword_classifier",
        "0",
        "keyword triage",
    )
    assert card.price.per_call_usd == pytest.approx(0.002)
    assert card.expected_latency_ms == 15

    # A client that has never seen these types can build them from the descriptors alone.
    pool = descriptor_pool.DescriptorPool()
    for file in described.descriptors.file:
        pool.Add(file)
    ticket_class = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tutti.support.v1.Ticket")
    )
    ticket = ticket_class(id="T-1", text="refund please")
    response = await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(ticket)))
    decision = payloads_pb2.Classification()
    assert response.output.Unpack(decision)
    assert decision.label == "billing"


async def test_classifier_scores_cover_every_label_and_hedging_lowers_confidence(
    serve: Serve,
) -> None:
    config = python_config(
        "tests.stages:keyword_classifier",
        options={"rules": {"refund": "billing", "crash": "technical"}, "default": "other",
                 "low_confidence_words": ["maybe"]},
    )  # fmt: skip
    served = await serve(config)
    sure, hedged = payloads_pb2.Classification(), payloads_pb2.Classification()
    (
        await served.stub.Invoke(invoke_request(payloads_pb2.Text(text="the app will crash")))
    ).output.Unpack(sure)
    (
        await served.stub.Invoke(invoke_request(payloads_pb2.Text(text="maybe a refund?")))
    ).output.Unpack(hedged)
    assert (sure.label, sure.confidence) == ("technical", pytest.approx(0.9))
    assert (hedged.label, hedged.confidence) == ("billing", pytest.approx(0.3))
    for decision in (sure, hedged):
        assert set(decision.scores) == {"billing", "technical", "other"}
        assert sum(decision.scores.values()) == pytest.approx(1.0)


async def test_wrong_payload_type_is_invalid_argument_naming_input(serve: Serve) -> None:
    served = await serve(python_config("tests.stages:echo"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke_request(support_pb2.Ticket(text="hi")))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "input: holds tutti.support.v1.Ticket; expected tutti.v1.Text"


async def test_empty_payload_is_invalid_argument_naming_input(serve: Serve) -> None:
    served = await serve(python_config("tests.stages:echo"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.stub.Invoke(stage_pb2.InvokeRequest(input=any_pb2.Any()))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("input: is empty")
    assert served.backend.model.calls == 0  # type: ignore[attr-defined]


async def test_input_breaking_its_constraints_is_rejected_before_the_model(serve: Serve) -> None:
    served = await serve(
        python_config("tests.stages:echo", options={"input_type": "tutti.support.v1.Ticket"})
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke_request(support_pb2.Ticket(id="T-1", text="")))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("input.text:")
    assert served.backend.model.calls == 0  # type: ignore[attr-defined]


async def test_failing_model_is_internal_without_traceback_and_server_keeps_serving(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    served = await serve(
        python_config("tests.stages:failing", options={"message": "secret model state"})
    )
    with caplog.at_level(logging.ERROR, logger="tutti.errors"):
        for _ in range(2):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await served.stub.Invoke(invoke_request(payloads_pb2.Text(text="hi")))
            assert caught.value.code() is grpc.StatusCode.INTERNAL
            details = caught.value.details()
            assert "Traceback" not in details and "secret model state" not in details
            assert "RuntimeError" not in details
    assert "secret model state" in caplog.text  # the operator sees it in the log
    assert served.backend.model.calls == 2  # type: ignore[attr-defined]
    described = await served.stub.Describe(stage_pb2.DescribeRequest())
    assert described.output_type == "tutti.v1.Text"
    health = await health_pb2_grpc.HealthStub(served.channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING


async def test_model_answering_another_type_than_declared_is_internal(serve: Serve) -> None:
    # echo declares Classification output but returns its Text input: a model that lies
    served = await serve(
        python_config("tests.stages:echo", options={"output_type": "tutti.v1.Classification"})
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke_request(payloads_pb2.Text(text="hi")))
    assert caught.value.code() is grpc.StatusCode.INTERNAL


async def test_outputs_are_passed_on_unvalidated_for_the_router_to_judge(serve: Serve) -> None:
    """Validating outputs is the caller's job, so the router can name the stage that broke them."""
    served = await serve(python_config("tests.stages:invalid_classification"))
    response = await served.stub.Invoke(invoke_request(payloads_pb2.Text(text="hi")))
    decision = payloads_pb2.Classification()
    assert response.output.Unpack(decision)
    assert decision.confidence == 1.5


async def test_async_model_serves_concurrent_calls(serve: Serve) -> None:
    served = await serve(python_config("tests.stages:slow", options={"delay_ms": 50}))
    texts = [f"call {i}" for i in range(5)]
    responses = await asyncio.gather(
        *(served.stub.Invoke(invoke_request(payloads_pb2.Text(text=t))) for t in texts)
    )
    echoed = []
    for response in responses:
        out = payloads_pb2.Text()
        response.output.Unpack(out)
        echoed.append(out.text)
    assert echoed == texts
    model = served.backend.model  # type: ignore[attr-defined]
    assert isinstance(model, Slow)
    assert (model.calls, model.in_flight, model.cancelled) == (5, 0, 0)


async def test_sequence_of_suffix_models_applies_in_order(serve: Serve) -> None:
    first = await serve(python_config("tests.stages:suffix", options={"text": " -a"}))
    second = await serve(python_config("tests.stages:suffix", options={"text": " -b"}))
    response = await first.stub.Invoke(invoke_request(payloads_pb2.Text(text="x")))
    response = await second.stub.Invoke(stage_pb2.InvokeRequest(input=response.output))
    out = payloads_pb2.Text()
    response.output.Unpack(out)
    assert out.text == "x -a -b"


async def test_service_builds_a_servable_stage_service() -> None:
    server = Server([service(python_config("tests.stages:echo", stage="echo"))])
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            described = await stage_pb2_grpc.StageServiceStub(channel).Describe(
                stage_pb2.DescribeRequest()
            )
    finally:
        await server.stop(0)
    assert (described.stage, described.input_type) == ("echo", "tutti.v1.Text")


def test_config_type_that_contradicts_the_model_is_refused_at_start() -> None:
    """A stage must not promise a type its model does not return."""
    from specialist_service import SpecialistConfig, build_backend
    from tutti.errors import ConfigError

    config = SpecialistConfig.from_mapping(
        {"backend": "python", "factory": "tests.stages:echo", "output": "tutti.v1.Completion"},
        stage="e",
    )
    with pytest.raises(
        ConfigError,
        match="output: tutti.v1.Completion, but the model declares output_type tutti.v1.Text",
    ):
        build_backend(config)
