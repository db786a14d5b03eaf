"""The port the engine calls stages through: StageClient, and the error every client raises.

The engine sees no transport: a gRPC client and an in-memory fake both
answer these three calls, and both fail with `StageClientError`, which
carries the status code and details a stage answered with (or its
transport made up).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol, runtime_checkable

import grpc

from tutti.v1 import merger_pb2, stage_pb2

__all__ = ["StageClient", "StageClientError"]


class StageClientError(Exception):
    """A stage call that failed: the gRPC status code and details it failed with."""

    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        super().__init__(f"{code.name}: {details}" if details else code.name)
        self.code = code
        self.details = details


@runtime_checkable
class StageClient(Protocol):
    """The calls of one stage: Invoke and InvokeStream for a model, Merge for a merger.

    `timeout` is the seconds left for the call (None: no deadline); a call
    still running then fails with DEADLINE_EXCEEDED. A cancelled caller
    cancels the call. Every failure is a `StageClientError`.
    """

    async def invoke(
        self, request: stage_pb2.InvokeRequest, timeout: float | None
    ) -> stage_pb2.InvokeResponse: ...

    def invoke_stream(
        self, request: stage_pb2.InvokeStreamRequest, timeout: float | None
    ) -> AsyncGenerator[stage_pb2.InvokeStreamResponse, None]:
        """The stage's deltas as they are generated, then one event holding the response."""
        ...

    async def merge(
        self, request: merger_pb2.MergeRequest, timeout: float | None
    ) -> merger_pb2.MergeResponse: ...
