"""The openai backend against a real llama.cpp server (SmolLM2-135M) on loopback, through a
proxy that records each request and injects faults. The model is tiny: these tests check the
plumbing (request shape, usage, cost, deadlines, retries, validation), never its answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc import aio

from specialist_service import SpecialistConfig, build_backend
from tests.llm_servers import MODEL_ALIAS, Fault, Proxy
from tutti.errors import ConfigError
from tutti.messages import pack
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2, stage_pb2

if TYPE_CHECKING:
    from tests.specialist_service.conftest import Serve

KEY = "sk-test-a1b2c3d4e5"  # a stand-in; it must reach the server's header and nowhere else
PRICE = {"per_call_usd": 0.001, "per_1k_input_tokens_usd": 0.5, "per_1k_output_tokens_usd": 1.5}


@pytest.fixture
async def proxy(llama_url: str) -> AsyncIterator[Proxy]:
    proxy = await Proxy(llama_url).start()
    yield proxy
    await proxy.close()


def drafter(base_url: str, /, **openai: object) -> SpecialistConfig:
    """Ticket -> Completion: draft a reply to the ticket's text."""
    section: dict[str, object] = {
        "base_url": base_url,
        "model": MODEL_ALIAS,
        "api_key_env": "TUTTI_TEST_LLM_KEY",
        "system": "You answer bank customers in one short sentence.",
        "prompt": "Customer {customer_id} wrote: {text}",
        "max_tokens": 24,
        "retry": {"attempts": 3, "backoff_s": 0.05},
        **openai,
    }
    section = {key: value for key, value in section.items() if value is not None}
    return SpecialistConfig.from_mapping(
        {
            "stage": "drafter",
            "backend": "openai",
            "input": "tutti.support.v1.Ticket",
            "output": "tutti.v1.Completion",
            "price": PRICE,
            "openai": section,
        }
    )


def classifier(base_url: str) -> SpecialistConfig:
    """Text -> Classification in JSON mode, the schema sent as llama.cpp takes it."""
    return SpecialistConfig.from_mapping(
        {
            "stage": "sorter",
            "backend": "openai",
            "input": "tutti.v1.Text",
            "output": "tutti.v1.Classification",
            "openai": {
                "base_url": base_url,
                "model": MODEL_ALIAS,
                "system": "Classify the message. Answer JSON: label, confidence (0 to 1).",
                "response_format": "json_object",
                "max_tokens": 48,
            },
        }
    )


TICKET = support_pb2.Ticket(id="t1", text="My card was charged twice.", customer_id="c42")


def invoke(msg: object, stage: str = "drafter") -> stage_pb2.InvokeRequest:
    return stage_pb2.InvokeRequest(input=pack(msg), stage=stage)  # type: ignore[arg-type]


async def test_request_carries_the_rendered_prompt_the_model_and_the_key(
    proxy: Proxy, serve: Serve, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TUTTI_TEST_LLM_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    served = await serve(drafter(proxy.base_url))
    response = await served.stub.Invoke(invoke(TICKET), timeout=60)

    (seen,) = proxy.seen
    assert seen.path == "/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.body["model"] == MODEL_ALIAS
    assert seen.body["messages"] == [
        {"role": "system", "content": "You answer bank customers in one short sentence."},
        {"role": "user", "content": "Customer c42 wrote: My card was charged twice."},
    ]
    assert seen.body["max_tokens"] == 24
    assert "response_format" not in seen.body  # text mode
    completion = payloads_pb2.Completion()
    response.output.Unpack(completion)
    assert completion.finish_reason in ("stop", "length")
    assert seen.answer is not None
    assert completion.text == seen.answer["choices"][0]["message"]["content"].strip()
    assert response.model.name == MODEL_ALIAS and response.model.version
    assert KEY not in caplog.text


async def test_usage_and_cost_come_from_the_servers_token_counts(
    proxy: Proxy, serve: Serve
) -> None:
    served = await serve(drafter(proxy.base_url, api_key_env=None))
    response = await served.stub.Invoke(invoke(TICKET), timeout=60)
    assert proxy.seen[0].answer is not None
    usage = proxy.seen[0].answer["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert response.usage.input_tokens == usage["prompt_tokens"]
    assert response.usage.output_tokens == usage["completion_tokens"]
    expected = 0.001 + usage["prompt_tokens"] * 0.5 / 1000 + usage["completion_tokens"] * 1.5 / 1000
    assert response.usage.cost_usd == pytest.approx(expected)


async def test_json_mode_sends_the_output_schema_and_parses_the_answer(
    proxy: Proxy, serve: Serve
) -> None:
    served = await serve(classifier(proxy.base_url))
    proxy.faults.append(Fault(content='Sure! ```json\n{"label": "cards", "confidence": 0.8}\n```'))
    response = await served.stub.Invoke(invoke(payloads_pb2.Text(text="charged twice")), timeout=60)
    schema = proxy.seen[0].body["response_format"]
    assert schema["type"] == "json_object"
    assert set(schema["schema"]["properties"]) == {"label", "confidence", "scores"}
    result = payloads_pb2.Classification()
    response.output.Unpack(result)
    assert (result.label, result.confidence) == ("cards", pytest.approx(0.8))


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("I cannot help with that.", "(completion)' holds no JSON object"),
        ('{"label": "cards", "confidence": 2}', "output field 'confidence'"),
        ('{"label": "", "confidence": 0.5}', "output field 'label'"),
    ],
)
async def test_a_malformed_completion_is_rejected_naming_the_stage(
    proxy: Proxy, serve: Serve, content: str, named: str
) -> None:
    served = await serve(classifier(proxy.base_url))
    proxy.faults.append(Fault(content=content))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(payloads_pb2.Text(text="charged twice")), timeout=60)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "stage 'sorter'" in (caught.value.details() or "")
    assert named in (caught.value.details() or "")


async def test_an_injected_503_is_retried_after_its_retry_after(proxy: Proxy, serve: Serve) -> None:
    served = await serve(drafter(proxy.base_url, api_key_env=None))
    proxy.faults.append(Fault(status=503, headers={"Retry-After": "0.2"}))
    response = await served.stub.Invoke(invoke(TICKET), timeout=60)
    assert len(proxy.seen) == 2
    assert response.usage.output_tokens > 0


async def test_a_retry_after_past_the_deadline_fails_at_once_without_waiting(
    proxy: Proxy, serve: Serve
) -> None:
    served = await serve(drafter(proxy.base_url, api_key_env=None))
    proxy.faults.append(Fault(status=503, headers={"Retry-After": "30"}))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(TICKET), timeout=5)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "answered 503" in (caught.value.details() or "")
    assert len(proxy.seen) == 1


async def test_rate_limits_past_the_last_attempt_are_resource_exhausted(
    proxy: Proxy, serve: Serve
) -> None:
    served = await serve(drafter(proxy.base_url, api_key_env=None))
    proxy.faults.extend(Fault(status=429, headers={"Retry-After": "0"}) for _ in range(3))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(TICKET), timeout=30)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "after 3 attempts" in (caught.value.details() or "")
    assert len(proxy.seen) == 3


async def test_a_refused_request_is_not_retried_and_the_key_stays_out_of_the_error(
    proxy: Proxy, serve: Serve, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TUTTI_TEST_LLM_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    served = await serve(drafter(proxy.base_url))
    proxy.faults.append(Fault(status=401))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(TICKET), timeout=30)
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "answered 401" in (caught.value.details() or "")
    assert len(proxy.seen) == 1
    assert KEY not in (caught.value.details() or "") and KEY not in caplog.text


async def test_an_error_page_that_is_not_utf8_is_still_a_clean_unavailable(
    proxy: Proxy, serve: Serve
) -> None:
    served = await serve(drafter(proxy.base_url, api_key_env=None, retry={"attempts": 1}))
    proxy.faults.append(Fault(status=502, body=b"<html>\x80\x81 bad gateway</html>"))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(TICKET), timeout=30)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "answered 502" in (caught.value.details() or "")


async def test_the_callers_deadline_cancels_the_http_request(proxy: Proxy, serve: Serve) -> None:
    """The server holds the request for 20 s; a 1 s gRPC deadline ends the call and the
    backend hangs up on the model server instead of waiting for it."""
    served = await serve(drafter(proxy.base_url, api_key_env=None))
    proxy.faults.append(Fault(hold_s=20))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(TICKET), timeout=1)
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    for _ in range(100):  # the proxy notices the hang-up on its own schedule
        if proxy.seen[0].client_left:
            break
        await asyncio.sleep(0.05)
    assert proxy.seen[0].client_left


async def test_an_unreachable_server_is_unavailable_naming_the_stage(serve: Serve) -> None:
    from tests.llm_servers import free_port

    served = await serve(drafter(f"http://127.0.0.1:{free_port()}/v1", api_key_env=None))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(TICKET), timeout=10)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "stage 'drafter'" in (caught.value.details() or "")


def test_the_key_comes_from_a_file_never_from_yaml(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    backend = build_backend(
        drafter("http://127.0.0.1:1/v1", api_key_env=None, api_key_file=str(key_file))
    )
    assert backend._endpoint._client.headers["authorization"] == f"Bearer {KEY}"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="openai.api_key: a key does not belong in a config file"):
        build_backend(drafter("http://127.0.0.1:1/v1", api_key=KEY))
    with pytest.raises(ConfigError, match="environment variable TUTTI_NOT_SET is not set"):
        build_backend(drafter("http://127.0.0.1:1/v1", api_key_env="TUTTI_NOT_SET"))


@pytest.mark.parametrize(
    ("openai", "message"),
    [
        (
            {"prompt": "Hi {ticket.text}"},
            r"openai.prompt: \{ticket.text\}: tutti.support.v1.Ticket has no field 'ticket'",
        ),
        ({"prompt": "Hi {text"}, "openai.prompt: is not a valid template"),
        ({"base_url": "127.0.0.1:8080"}, "openai.base_url: must start with http"),
        ({"retry": {"attempts": 0}}, "openai.retry.attempts: must be a whole number >= 1"),
        ({"retry": {"tries": 2}}, "openai.retry.tries: unknown key"),
        ({"response": "xml"}, "openai.response: must be text or json"),
        (
            {"text_field": "body"},
            "openai.text_field: tutti.v1.Completion has no string field 'body'",
        ),
        ({"extend_input": True}, "openai.extend_input: needs the same input and output type"),
        ({"prompt": "{text:d}"}, "openai.prompt: does not render for a tutti.support.v1.Ticket"),
        ({"system": "Hi {nope}"}, "openai.system: {nope}: tutti.support.v1.Ticket has no field"),
    ],
)
def test_config_mistakes_name_the_key(openai: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_backend(drafter("http://127.0.0.1:1/v1", api_key_env=None, **openai))


def test_config_errors_point_at_the_line(tmp_path: Path) -> None:
    from specialist_service import load_specialist_config

    path = tmp_path / "drafter.yaml"
    path.write_text(
        "stage: drafter\nbackend: openai\nopenai:\n  base_url: http://127.0.0.1:1/v1\n"
        "  model: m\n  max_tokens: -3\n"
    )
    with pytest.raises(ConfigError, match=r"drafter.yaml:6: stage 'drafter': openai.max_tokens"):
        build_backend(load_specialist_config(path))


async def test_a_call_without_a_deadline_is_bounded_by_timeout_s(
    proxy: Proxy, serve: Serve
) -> None:
    served = await serve(drafter(proxy.base_url, api_key_env=None, timeout_s=1))
    proxy.faults.append(Fault(hold_s=20))
    with pytest.raises(aio.AioRpcError) as caught:
        await served.stub.Invoke(invoke(TICKET))  # no gRPC deadline
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "stage 'drafter'" in (caught.value.details() or "")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    import email.utils
    import time

    from specialist_service._retry import retry_after

    assert retry_after("2.5") == 2.5
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: at once
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after(soon) or 0) <= 30
    assert retry_after("soon") is None and retry_after(None) is None


def test_naming_a_text_field_means_text_unless_json_is_asked_for() -> None:
    def contract(**openai: object) -> object:
        config = SpecialistConfig.from_mapping(
            {
                "stage": "drafter",
                "backend": "openai",
                "input": "tutti.support.v1.Resolution",
                "output": "tutti.support.v1.Resolution",
                "openai": {
                    "base_url": "http://127.0.0.1:1/v1",
                    "model": "m",
                    "prompt": "{reply}",
                    **openai,
                },
            }
        )
        return build_backend(config).contract.response  # type: ignore[attr-defined]

    assert contract(text_field="reply", extend_input=True) == "text"
    assert contract() == "json"  # Resolution has no `text` field
    assert contract(text_field="reply", response="json") == "json"


def test_the_system_prompt_renders_like_the_prompt_braces_included() -> None:
    backend = build_backend(
        drafter(
            "http://127.0.0.1:1/v1",
            api_key_env=None,
            system='Answer like {{"reply": "..."}} to customer {customer_id}.',
        )
    )
    (system, _) = backend.contract.messages(TICKET)  # type: ignore[attr-defined]
    assert system["content"] == 'Answer like {"reply": "..."} to customer c42.'
