"""An in-memory StageClient: stages answered by plain functions in this event loop, no socket.

Like httpx's MockTransport, it is for a user's tests as much as ours: run
a composition's flow against stand-in stages, hold an answer on an
`asyncio.Event`, fail a call with any status code, and count what came.

    stages = FakeStages(
        triage=FakeStageClient(invoke=lambda request: answer(Classification(label="billing"))),
        billing=FakeStageClient(invoke=echo),
    )
    router = await Router.load([path], describe=False, clients=stages)
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TypeVar

import grpc
from google.protobuf import any_pb2, message

from router_service.engine._client import StageClient, StageClientError
from router_service.plan import StageSpec
from tutti.v1 import merger_pb2, stage_pb2

__all__ = ["FakeStageClient", "FakeStages", "answer", "echo"]

Request = TypeVar("Request", bound=message.Message)
Response = TypeVar("Response", bound=message.Message)
Handler = Callable[[Request], Awaitable[Response] | Response]
InvokeHandler = Handler[stage_pb2.InvokeRequest, stage_pb2.InvokeResponse]
MergeHandler = Handler[merger_pb2.MergeRequest, merger_pb2.MergeResponse]


def answer(
    output: message.Message,
    model: str = "fake",
    version: str = "1",
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
) -> stage_pb2.InvokeResponse:
    """An InvokeResponse holding `output`, as a stage with this model and usage would answer."""
    packed = any_pb2.Any()
    packed.Pack(output)
    response = stage_pb2.InvokeResponse(
        output=packed, model=stage_pb2.ModelRef(name=model, version=version)
    )
    response.usage.input_tokens = input_tokens
    response.usage.output_tokens = output_tokens
    response.usage.cost_usd = cost_usd
    return response


def echo(request: stage_pb2.InvokeRequest) -> stage_pb2.InvokeResponse:
    """A stage that answers with its input."""
    return stage_pb2.InvokeResponse(
        output=request.input, model=stage_pb2.ModelRef(name="echo", version="1")
    )


class FakeStageClient:
    """One stand-in stage. `invoke` (or `merge`, for a merger) answers each call; it may
    be async, await an event, or raise StageClientError to fail the call with a status.

    A call that outlives its timeout fails with DEADLINE_EXCEEDED, as over gRPC.
    InvokeStream sends `deltas(request)` and then the response; without
    `deltas` it fails with UNIMPLEMENTED, as a stage that does not stream.
    """

    def __init__(
        self,
        invoke: InvokeHandler | None = None,
        merge: MergeHandler | None = None,
        deltas: Callable[[stage_pb2.InvokeRequest], Sequence[str]] | None = None,
    ) -> None:
        self._invoke = invoke
        self._merge = merge
        self._deltas = deltas
        self.requests: list[message.Message] = []
        self.timeouts: list[float | None] = []
        self.cancelled = 0

    @property
    def calls(self) -> int:
        """How many calls reached this stage."""
        return len(self.requests)

    async def _answer(
        self, handler: Handler[Request, Response] | None, request: Request, timeout: float | None
    ) -> Response:
        self.requests.append(request)
        self.timeouts.append(timeout)
        if handler is None:
            raise StageClientError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        if timeout is not None and timeout <= 0:
            raise StageClientError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
        try:
            async with asyncio.timeout(timeout):
                found = handler(request)
                return await found if inspect.isawaitable(found) else found
        except TimeoutError:
            raise StageClientError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded") from None
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    async def invoke(
        self, request: stage_pb2.InvokeRequest, timeout: float | None
    ) -> stage_pb2.InvokeResponse:
        return await self._answer(self._invoke, request, timeout)

    async def invoke_stream(
        self, request: stage_pb2.InvokeStreamRequest, timeout: float | None
    ) -> AsyncGenerator[stage_pb2.InvokeStreamResponse, None]:
        invoke = stage_pb2.InvokeRequest(input=request.input, stage=request.stage)
        if self._deltas is None:
            self.requests.append(invoke)
            self.timeouts.append(timeout)
            raise StageClientError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        response = await self._answer(self._invoke, invoke, timeout)
        for delta in self._deltas(invoke):
            yield stage_pb2.InvokeStreamResponse(delta=delta)
        yield stage_pb2.InvokeStreamResponse(response=response)

    async def merge(
        self, request: merger_pb2.MergeRequest, timeout: float | None
    ) -> merger_pb2.MergeResponse:
        return await self._answer(self._merge, request, timeout)


class FakeStages:
    """A FakeStageClient for each stage name; pass it where a stage client factory goes."""

    def __init__(self, **stages: FakeStageClient) -> None:
        self.stages = dict(stages)

    def __getitem__(self, name: str) -> FakeStageClient:
        return self.stages[name]

    def __call__(self, spec: StageSpec) -> StageClient:
        try:
            return self.stages[spec.name]
        except KeyError:
            raise KeyError(
                f"no fake for stage '{spec.name}' (have: {sorted(self.stages)})"
            ) from None
