"""Stage calls recorded once and answered again: every setting replayed without the mesh.

The engine calls its stages through `StageClient`s; these answer a call they have seen
(same stage, same request bytes) from the record, and pass one they have not to the
live stage, recording its answer. So each stage is called live at most once per
distinct input, and every later setting runs on the engine's own decision code.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
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


def _key(stage: str, request: message.Message) -> tuple[str, bytes]:
    return stage, request.SerializeToString(deterministic=True)


class _ReplayClient:
    def __init__(self, recording: Recording, stage: str, live: StageClient) -> None:
        self.recording = recording
        self.stage = stage
        self.live = live

    async def invoke(
        self, request: stage_pb2.InvokeRequest, timeout: float | None
    ) -> stage_pb2.InvokeResponse:
        key = _key(self.stage, request)
        found = self.recording.answers.get(key)
        if found is None:
            self.recording.live_calls += 1
            found = await self.live.invoke(request, timeout)
            self.recording.answers[key] = found
        assert isinstance(found, stage_pb2.InvokeResponse)
        return found

    async def invoke_stream(
        self, request: stage_pb2.InvokeStreamRequest, timeout: float | None
    ) -> AsyncGenerator[stage_pb2.InvokeStreamResponse, None]:
        key = _key(self.stage, request)
        found = self.recording.answers.get(key)
        if found is None:
            self.recording.live_calls += 1
            found = [event async for event in self.live.invoke_stream(request, timeout)]
            self.recording.answers[key] = found
        assert isinstance(found, list)
        for event in found:
            yield event

    async def merge(
        self, request: merger_pb2.MergeRequest, timeout: float | None
    ) -> merger_pb2.MergeResponse:
        key = _key(self.stage, request)
        found = self.recording.answers.get(key)
        if found is None:
            self.recording.live_calls += 1
            found = await self.live.merge(request, timeout)
            self.recording.answers[key] = found
        assert isinstance(found, merger_pb2.MergeResponse)
        return found
