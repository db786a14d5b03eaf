"""The `openai` backend: chat completions from any OpenAI-compatible server, over httpx.

    backend: openai
    imports: [tutti.support.v1.support_pb2]
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
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from google.protobuf import message

from specialist_service._backend import Backend, Prediction
from specialist_service._llm import Completion, LlmContract
from specialist_service._openai_plan import OpenAIPlan
from specialist_service._openai_wire import (
    ChatEndpoint,
    broke_off,
    completion,
    events,
    json_object,
    response_format_of,
)
from specialist_service._retry import RetryPolicy, attempts
from tutti.config import Problems
from tutti.errors import StageDeadlineError

__all__ = ["OpenAIBackend", "build"]


class OpenAIBackend(Backend):
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
        self._endpoint = ChatEndpoint(base_url, api_key)
        self._timeout_s = timeout_s
        self._retry = retry
        self._response_format = response_format_of(contract, response_format)

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
        answered = completion(answer, self.contract.stage)
        return Prediction(
            self.contract.parse(answered, msg),
            input_tokens=answered.input_tokens,
            output_tokens=answered.output_tokens,
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
            attempts(self._send(body, deadline), self._retry, deadline, stage) as response,
            contextlib.aclosing(events(response, stage, deadline)) as received,
        ):
            async for event in received:
                usage = event.get("usage") or usage
                for choice in event.get("choices") or ():
                    delta = (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if delta:
                        chunks += 1
                        parts.append(delta)
                        yield delta
        answered = Completion(
            "".join(parts),
            finish,
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or chunks),
        )
        yield Prediction(
            self.contract.parse(answered, msg),
            input_tokens=answered.input_tokens,
            output_tokens=answered.output_tokens,
            compute_ms=0.0,
        )

    def _send(self, body: dict[str, Any], deadline: float) -> Any:
        return lambda: self._endpoint.send(body, deadline, self.contract.stage)

    async def _with_retries(self, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        stage = self.contract.stage
        async with attempts(self._send(body, deadline), self._retry, deadline, stage) as response:
            try:
                await response.aread()
            except httpx.TransportError as exc:
                raise broke_off(stage, exc) from exc
            return json_object(response.text, stage)

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

    async def aclose(self) -> None:
        await self._endpoint.aclose()


def build(plan: OpenAIPlan, problems: Problems, *, name: str, version: str) -> OpenAIBackend:
    """The backend for a read section; the API key is read here, from its file or variable."""
    api_key = _api_key(plan, problems)
    problems.raise_if_any()
    # The version keys the router's stage cache: the server, its model name and all that
    # shapes this stage's answers. A server that swaps the weights behind the same name
    # needs `version:` set.
    identity = json.dumps(
        [plan.base_url, plan.model, plan.response_format, plan.contract.fingerprint()]
    )
    return OpenAIBackend(
        plan.contract,
        base_url=plan.base_url,
        model=plan.model,
        api_key=api_key,
        timeout_s=plan.timeout_s,
        retry=plan.retry,
        response_format=plan.response_format,
        name=name,
        version=version or hashlib.sha256(identity.encode()).hexdigest()[:12],
    )


def _api_key(plan: OpenAIPlan, problems: Problems) -> str:
    """The key from a file or an environment variable; absent is fine for local servers."""
    if plan.api_key_file is not None:
        try:
            return plan.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.report(
                "openai.api_key_file", f"cannot read {plan.api_key_file}: {exc.strerror}"
            )
            return ""
    key = os.environ.get(plan.api_key_env, "")
    if not key and plan.api_key_env_given:
        problems.report(
            "openai.api_key_env", f"the environment variable {plan.api_key_env} is not set"
        )
    return key
