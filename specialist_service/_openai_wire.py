"""The HTTP side of the openai backend: one attempt at `/chat/completions`, and its answer read.

Statuses become what a stage's caller should see: 429 RESOURCE_EXHAUSTED and
5xx or a failed connection UNAVAILABLE (both Retryable), any other refusal
FAILED_PRECONDITION (retrying cannot help), a missed deadline DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import grpc
import httpx

from specialist_service._llm import Completion, LlmContract, json_schema
from specialist_service._retry import Retryable, retry_after
from tutti.errors import StageCallError, StageDeadlineError

__all__ = [
    "ChatEndpoint",
    "broke_off",
    "completion",
    "events",
    "json_object",
    "lines",
    "response_format_of",
]

_RETRIED = frozenset({429, 500, 502, 503, 504})


class ChatEndpoint:
    """An OpenAI-compatible server's `/chat/completions`, reached over one httpx client."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        # For messages: no userinfo or query, where a careless URL might carry a key.
        self.where = str(httpx.URL(self.url).copy_with(userinfo=b"", query=None))
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Created here, used inside the server's loop; httpx binds to a loop only on first use.
        self._client = httpx.AsyncClient(headers=headers)

    async def send(self, body: dict[str, Any], deadline: float, stage: str) -> httpx.Response:
        """One attempt; the response is open (streamed) and OK, or Retryable/StageCallError."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise StageDeadlineError(stage, "no time left for the model server")
        request = self._client.build_request(
            "POST", self.url, json=body, timeout=httpx.Timeout(left)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise StageDeadlineError(
                stage, f"the model server did not answer in {left:.1f}s"
            ) from exc
        except httpx.TransportError as exc:
            raise Retryable(
                grpc.StatusCode.UNAVAILABLE, f"cannot reach {self.where}: {exc}", None
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


async def lines(response: httpx.Response, stage: str, deadline: float) -> AsyncGenerator[str]:
    """The response's lines, each waited for no later than `deadline`."""
    iterator = response.aiter_lines()
    while True:
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                line = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise StageDeadlineError(
                stage, "the model server was still answering at the deadline"
            ) from None
        except httpx.TransportError as exc:
            raise broke_off(stage, exc) from exc
        yield line


async def events(
    response: httpx.Response, stage: str, deadline: float
) -> AsyncGenerator[dict[str, Any]]:
    """The JSON events of a streamed answer (server-sent `data:` lines) up to `[DONE]`."""
    async with contextlib.aclosing(lines(response, stage, deadline)) as received:
        async for line in received:
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            event = json_object(data, stage)
            if "error" in event:  # a server that fails mid-stream says so in an event
                raise StageCallError(
                    stage,
                    grpc.StatusCode.UNAVAILABLE,
                    f"the model server failed mid-answer: {str(event['error'])[:200]}",
                )
            yield event


def broke_off(stage: str, exc: httpx.TransportError) -> StageCallError:
    return StageCallError(
        stage, grpc.StatusCode.UNAVAILABLE, f"the model server broke off its answer: {exc!r}"
    )


def completion(answer: Mapping[str, Any], stage: str) -> Completion:
    """The first choice of a non-streamed answer, with its token counts."""
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


def json_object(text: str, stage: str) -> dict[str, Any]:
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


def response_format_of(contract: LlmContract, name: str) -> dict[str, Any] | None:
    """What asks the server for JSON: OpenAI's json_schema, or json_object with the schema
    as llama.cpp's server and vLLM take it; nothing for plain text."""
    if contract.response != "json" or name == "none":
        return None
    schema = json_schema(contract.output_class.DESCRIPTOR)
    if name == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
