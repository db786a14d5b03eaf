"""Stage calls recorded once and answered again: every setting replayed without the mesh.

The engine calls its stages through `StageClient`s; these answer a call they have seen
(same stage, same request bytes) from the record, and pass one they have not to the
live stage, recording its answer. So each stage is called live at most once per
distinct input, and every later setting runs on the engine's own decision code.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import message

from router_service import StageClient
from tutti.v1 import merger_pb2, stage_pb2

__all__ = ["Recording"]


@dataclass
class Recording:
    """Every answer seen, by (stage, request bytes); `live_calls` counts the misses."""

    live: Callable[[Any], StageClient]  # a stage's spec -> its live client
    answers: dict[tuple[str, bytes], object] = field(default_factory=dict)
    live_calls: int = 0

    def __call__(self, spec: Any) -> StageClient:
        return _ReplayClient(self, spec.name, self.live(spec))


class _ReplayClient:
    def __init__(self, recording: Recording, stage: str, live: StageClient) -> None:
        self.recording = recording
        self.stage = stage
        self.live = live

    async def _answer(
        self, request: message.Message, call: Callable[[], Awaitable[object]]
    ) -> object:
        """The recorded answer to `request`, or the live one, recorded."""
        key = (self.stage, request.SerializeToString(deterministic=True))
        found = self.recording.answers.get(key)
        if found is None:
            self.recording.live_calls += 1
            found = await call()
            self.recording.answers[key] = found
        return found

    async def invoke(
        self, request: stage_pb2.InvokeRequest, timeout: float | None
    ) -> stage_pb2.InvokeResponse:
        found = await self._answer(request, lambda: self.live.invoke(request, timeout))
        assert isinstance(found, stage_pb2.InvokeResponse)
        return found

    async def invoke_stream(
        self, request: stage_pb2.InvokeStreamRequest, timeout: float | None
    ) -> AsyncGenerator[stage_pb2.InvokeStreamResponse, None]:
        async def events() -> list[stage_pb2.InvokeStreamResponse]:
            return [event async for event in self.live.invoke_stream(request, timeout)]

        found = await self._answer(request, events)
        assert isinstance(found, list)
        for event in found:
            yield event

    async def merge(
        self, request: merger_pb2.MergeRequest, timeout: float | None
    ) -> merger_pb2.MergeResponse:
        found = await self._answer(request, lambda: self.live.merge(request, timeout))
        assert isinstance(found, merger_pb2.MergeResponse)
        return found
