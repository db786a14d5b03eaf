"""The `openai` backend: chat completions from any OpenAI-compatible server, over httpx.

    backend: openai
    input: tutti.support.v1.Resolution
    output: tutti.support.v1.Resolution
    openai:
      base_url: http://127.0.0.1:8080/v1
      model: smollm2
      api_key_env: OPENAI_API_KEY       # or api_key_file; never the key itself
      system: You draft replies for a bank's support desk.
      prompt: "Customer: {triage.ticket.text}\\nDraft a reply."
      response: text                    # or json (see _llm.py)
      text_field: reply
      extend_input: true
      max_tokens: 200
      retry: {attempts: 3, backoff_s: 0.5, max_backoff_s: 8}

Each call's timeout is what is left of the caller's deadline (else `timeout_s`).
429 and 5xx answers and failed connections are retried with exponential backoff
and jitter; a Retry-After header sets the wait instead. A wait that would pass the
deadline is not started: the call fails at once with the last answer's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import grpc
import httpx
from google.protobuf import message

from specialist_service._backends import Prediction
from specialist_service._config import SpecialistConfig
from specialist_service._llm import Completion, LlmContract, chat_keys, json_schema, load_contract
from specialist_service._retry import Retryable, RetryPolicy, attempts, retry_after
from specialist_service._section import Section
from tutti.errors import StageCallError, StageDeadlineError
from tutti.messages import MessageTypes

__all__ = ["OpenAIBackend", "build"]

log = logging.getLogger(__name__)

_KEYS = chat_keys() | {
    "base_url", "model", "api_key_env", "api_key_file", "timeout_s", "retry", "response_format",
}  # fmt: skip
_RESPONSE_FORMATS = ("json_schema", "json_object", "none")
_RETRIED = frozenset({429, 500, 502, 503, 504})
_DEFAULT_KEY_ENV = "OPENAI_API_KEY"


class OpenAIBackend:
    """One stage's model behind an OpenAI-compatible `/chat/completions`."""

    def __init__(
        self,
        contract: LlmContract,
        *,
        base_url: str,
        model: str,
        api_key: str,
        timeout_s: float,
        retry: RetryPolicy,
        response_format: str,
        version: str,
        name: str = "",
    ) -> None:
        self.contract = contract
        self.input_type = contract.input_type
        self.output_type = contract.output_type
        self.name = name or model
        self.version = version
        self._model = model
        self._url = base_url.rstrip("/") + "/chat/completions"
        # For messages: no userinfo or query, where a careless URL might carry a key.
        self._where = str(httpx.URL(self._url).copy_with(userinfo=b"", query=None))
        self._timeout_s = timeout_s
        self._retry = retry
        self._response_format = _response_format(contract, response_format)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Created here, used inside the server's loop; httpx binds to a loop only on first use.
        self._client = httpx.AsyncClient(headers=headers)

    def body(self, msg: message.Message, *, stream: bool = False) -> dict[str, Any]:
        """The JSON request for one input."""
        body: dict[str, Any] = {
            "model": self._model,
            "messages": self.contract.messages(msg),
            "max_tokens": self.contract.max_tokens,
            "temperature": self.contract.temperature,
        }
        if self._response_format is not None:
            body["response_format"] = self._response_format
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        deadline = time.monotonic() + (self._timeout_s if timeout is None else timeout)
        async with self._bounded(deadline):
            answer = await self._with_retries(self.body(msg), deadline)
        completion = _completion(answer, self.contract.stage)
        return Prediction(
            self.contract.parse(completion, msg),
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            # The model runs elsewhere; no CPU of ours is worth reporting as its compute.
            compute_ms=0.0,
        )

    async def stream(
        self, msg: message.Message, timeout: float | None = None
    ) -> AsyncIterator[str | Prediction]:
        """The completion's text as it is generated, then the whole Prediction.

        Only the connection is retried: once text has reached the caller, a
        failure ends the call. Servers that report no usage in a stream
        (llama.cpp's) get their output tokens counted one per text chunk,
        which is how they send them, and no input tokens.
        """
        deadline = time.monotonic() + (self._timeout_s if timeout is None else timeout)
        parts: list[str] = []
        finish = ""
        usage: Mapping[str, Any] = {}
        chunks = 0
        body = self.body(msg, stream=True)
        stage = self.contract.stage
        # The deadline bounds each wait for the server (not the whole generator: a timeout
        # spanning a `yield` would fire in whoever is consuming, as a bare cancellation).
        async with (
            attempts(lambda: self._send(body, deadline), self._retry, deadline, stage) as response,
            contextlib.aclosing(_lines(response, stage, deadline)) as lines,
        ):
            async for line in lines:
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                event = _json_object(data, stage)
                if "error" in event:  # a server that fails mid-stream says so in an event
                    raise StageCallError(
                        stage,
                        grpc.StatusCode.UNAVAILABLE,
                        f"the model server failed mid-answer: {str(event['error'])[:200]}",
                    )
                usage = event.get("usage") or usage
                for choice in event.get("choices") or ():
                    delta = (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if delta:
                        chunks += 1
                        parts.append(delta)
                        yield delta
        completion = Completion(
            "".join(parts),
            finish,
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or chunks),
        )
        yield Prediction(
            self.contract.parse(completion, msg),
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            compute_ms=0.0,
        )

    async def _with_retries(self, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        stage = self.contract.stage
        async with attempts(
            lambda: self._send(body, deadline), self._retry, deadline, stage
        ) as response:
            try:
                await response.aread()
            except httpx.TransportError as exc:
                raise _broke_off(self.contract.stage, exc) from exc
            return _json_object(response.text, self.contract.stage)

    @contextlib.asynccontextmanager
    async def _bounded(self, deadline: float) -> AsyncIterator[None]:
        """The whole call, retries and reading included, ends by `deadline`.

        httpx's timeouts bound each read, not the sum; a caller's gRPC deadline
        cancels the call anyway, and this bounds calls that came without one.
        """
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                yield
        except TimeoutError:
            raise StageDeadlineError(
                self.contract.stage, "the model server did not finish within the deadline"
            ) from None

    async def _send(self, body: dict[str, Any], deadline: float) -> httpx.Response:
        """One attempt; the response is open (streamed) and OK, or _Retryable/StageCallError."""
        left = deadline - time.monotonic()
        stage = self.contract.stage
        if left <= 0:
            raise StageDeadlineError(stage, "no time left for the model server")
        request = self._client.build_request(
            "POST", self._url, json=body, timeout=httpx.Timeout(left)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise StageDeadlineError(
                stage, f"the model server did not answer in {left:.1f}s"
            ) from exc
        except httpx.TransportError as exc:
            raise Retryable(
                grpc.StatusCode.UNAVAILABLE, f"cannot reach {self._where}: {exc}", None
            ) from exc
        if response.status_code == 200:
            return response
        await response.aread()
        await response.aclose()
        detail = f"the model server answered {response.status_code}: {_error_text(response)}"
        if response.status_code in _RETRIED:
            code = (
                grpc.StatusCode.RESOURCE_EXHAUSTED
                if response.status_code == 429
                else grpc.StatusCode.UNAVAILABLE
            )
            raise Retryable(code, detail, retry_after(response.headers.get("retry-after")))
        # The request itself was refused (a bad key, an unknown model): retrying cannot help.
        raise StageCallError(stage, grpc.StatusCode.FAILED_PRECONDITION, detail)

    async def aclose(self) -> None:
        await self._client.aclose()


async def _lines(response: httpx.Response, stage: str, deadline: float) -> AsyncGenerator[str]:
    """The response's lines, each waited for no later than `deadline`."""
    lines = response.aiter_lines()
    while True:
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                line = await anext(lines)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise StageDeadlineError(
                stage, "the model server was still answering at the deadline"
            ) from None
        except httpx.TransportError as exc:
            raise _broke_off(stage, exc) from exc
        yield line


def _broke_off(stage: str, exc: httpx.TransportError) -> StageCallError:
    return StageCallError(
        stage, grpc.StatusCode.UNAVAILABLE, f"the model server broke off its answer: {exc!r}"
    )


def _response_format(contract: LlmContract, name: str) -> dict[str, Any] | None:
    """What asks the server for JSON: OpenAI's json_schema, or json_object with the schema
    as llama.cpp's server and vLLM take it; nothing for plain text."""
    if contract.response != "json" or name == "none":
        return None
    schema = json_schema(contract.output_class.DESCRIPTOR)
    if name == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}


def _completion(answer: Mapping[str, Any], stage: str) -> Completion:
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise StageCallError(stage, grpc.StatusCode.UNAVAILABLE, "the model server sent no choices")
    choice = choices[0]
    content = (choice.get("message") or {}).get("content")
    usage = answer.get("usage") or {}
    return Completion(
        content if isinstance(content, str) else "",
        str(choice.get("finish_reason") or ""),
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
    )


def _json_object(text: str, stage: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise StageCallError(
            stage,
            grpc.StatusCode.UNAVAILABLE,
            f"the model server sent no JSON object: {text[:80]!r}",
        )
    return value


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):  # not JSON, or not UTF-8 (a proxy's error page)
        error = None
    text = error.get("message") if isinstance(error, dict) else response.text
    return str(text or response.reason_phrase).strip()[:200]


def build(config: SpecialistConfig, types: MessageTypes) -> OpenAIBackend:
    if "api_key" in config.section:
        raise config.error(
            "openai.api_key",
            "a key does not belong in a config file; name its environment variable"
            " (api_key_env) or its file (api_key_file)",
        )
    section = Section(config, frozenset(_KEYS))
    contract = load_contract(section, types)
    base_url = section.text("base_url", required=True)
    if not base_url.startswith(("http://", "https://")):
        raise section.error("base_url", f"must start with http:// or https://, not {base_url!r}")
    model = section.text("model", required=True)
    response_format = section.choice("response_format", _RESPONSE_FORMATS)
    retry_section = section.child("retry", frozenset({"attempts", "backoff_s", "max_backoff_s"}))
    policy = RetryPolicy(
        attempts=retry_section.integer("attempts", 3, minimum=1),
        backoff_s=retry_section.number("backoff_s", 0.5),
        max_backoff_s=retry_section.number("max_backoff_s", 8.0),
    )
    # The version keys the router's stage cache: the server, its model name and all that
    # shapes this stage's answers. A server that swaps the weights behind the same name
    # needs `version:` set.
    identity = json.dumps([base_url, model, response_format, contract.fingerprint()])
    return OpenAIBackend(
        contract,
        base_url=base_url,
        model=model,
        api_key=_api_key(section),
        timeout_s=section.number("timeout_s", 60.0, above=True),
        retry=policy,
        response_format=response_format,
        name=config.name,
        version=config.version or hashlib.sha256(identity.encode()).hexdigest()[:12],
    )


def _api_key(section: Section) -> str:
    """The key from a file or an environment variable; absent is fine for local servers."""
    path = section.path("api_key_file")
    if path is not None:
        if section.data.get("api_key_env") is not None:
            raise section.error("api_key_file", "give api_key_file or api_key_env, not both")
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise section.error("api_key_file", f"cannot read {path}: {exc.strerror}") from exc
    name = section.text("api_key_env", _DEFAULT_KEY_ENV)
    key = os.environ.get(name, "")
    if not key and section.data.get("api_key_env") is not None:
        raise section.error("api_key_env", f"the environment variable {name} is not set")
    return key
