"""RouterService over gRPC: a thin adapter around Router."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc import aio

from router_service._router import Router
from router_service._stream_budget import StreamBudget
from tutti.decoding import Undecodable
from tutti.errors import INTERNAL_MESSAGE, TuttiError
from tutti.interceptor import takes_undecodable
from tutti.v1 import router_pb2, router_pb2_grpc

__all__ = ["RouterServicer"]

log = logging.getLogger("tutti.router")


class RouterServicer(router_pb2_grpc.RouterServiceServicer):
    def __init__(self, router: Router) -> None:
        self.router = router

    async def Route(
        self, request: router_pb2.RouteRequest, context: aio.ServicerContext[Any, Any]
    ) -> router_pb2.RouteResponse:
        return await self.router.route(request, context.time_remaining())

    async def RouteCompletion(
        self, request: router_pb2.RouteCompletionRequest, context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[router_pb2.RouteCompletionResponse]:
        """Route, sending the answering stage's text as it arrives, then the response."""
        route = router_pb2.RouteRequest(
            composition=request.composition, input=request.input, options=request.options
        )
        deltas: asyncio.Queue[str | None] = asyncio.Queue()
        routed = asyncio.ensure_future(
            self.router.route(route, context.time_remaining(), deltas.put_nowait)
        )
        routed.add_done_callback(lambda _: deltas.put_nowait(None))

        # A client that leaves ends the route (and its stage calls) at once, not when this
        # generator happens to be finalized.
        def stop(_: aio.ServicerContext[Any, Any]) -> None:
            routed.cancel()

        context.add_done_callback(stop)  # type: ignore[arg-type]  # the stubs want a class
        try:
            while (delta := await deltas.get()) is not None:
                yield router_pb2.RouteCompletionResponse(delta=delta)
            yield router_pb2.RouteCompletionResponse(response=routed.result())
        finally:
            routed.cancel()
            # Collected here, so that a failure nobody reads is not logged as unretrieved.
            with contextlib.suppress(BaseException):
                await routed

    async def ListCompositions(
        self, request: router_pb2.ListCompositionsRequest, context: aio.ServicerContext[Any, Any]
    ) -> router_pb2.ListCompositionsResponse:
        return self.router.list()

    @takes_undecodable
    async def RouteStream(
        self,
        request_iterator: AsyncIterator[router_pb2.RouteStreamRequest | Undecodable],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[router_pb2.RouteStreamResponse]:
        """Routes each request concurrently; a failed one does not end the stream.

        A request holds its share of the stream's `StreamBudget` (64 requests,
        1 MB) until its answer is written: a client that stops reading stops
        being read, and costs the router no more than that. A frame that is
        not a RouteStreamRequest is answered INVALID_ARGUMENT (with no
        request_id: its bytes cannot say one) and the stream goes on.
        """
        budget = StreamBudget()
        # Each answer with the bytes it holds of the budget; None once every request is answered.
        results: asyncio.Queue[tuple[router_pb2.RouteStreamResponse, int] | None] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()

        async def answer(held: int, response: router_pb2.RouteStreamResponse) -> None:
            size = response.ByteSize()
            budget.add(size)
            await results.put((response, held + size))

        async def one(item: router_pb2.RouteStreamRequest | Undecodable, held: int) -> None:
            if isinstance(item, Undecodable):
                refused = item.error()
                error = router_pb2.RouteError(code=refused.code.value[0], message=str(refused))
                await answer(held, router_pb2.RouteStreamResponse(error=error))
                return
            try:
                response = await self.router.route(item.request, context.time_remaining())
            except Exception as exc:  # one failed request must not end the stream
                code, message = grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE
                if isinstance(exc, TuttiError):
                    code, message = exc.code, exc.public_message
                if code is grpc.StatusCode.INTERNAL:
                    log.error("RouteStream request %r failed", item.request_id, exc_info=exc)
                error = router_pb2.RouteError(code=code.value[0], message=message)
                await answer(
                    held, router_pb2.RouteStreamResponse(request_id=item.request_id, error=error)
                )
            else:
                await answer(
                    held,
                    router_pb2.RouteStreamResponse(request_id=item.request_id, response=response),
                )

        async def read() -> None:
            try:
                async for item in request_iterator:
                    size = 0 if isinstance(item, Undecodable) else item.ByteSize()
                    await budget.admit(size)
                    task = asyncio.create_task(one(item, size))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                while tasks:
                    await asyncio.gather(*list(tasks), return_exceptions=True)
            finally:
                await results.put(None)

        reader = asyncio.create_task(read())

        # grpc drops this generator without closing it when a write fails because the client
        # left, so its `finally` would never run: the call's end cancels the work and drops
        # the answers nobody will read instead.
        def stop(_: aio.ServicerContext[Any, Any]) -> None:
            reader.cancel()
            for task in tasks:
                task.cancel()
            while not results.empty():
                results.get_nowait()

        context.add_done_callback(stop)  # type: ignore[arg-type]  # the stubs want a class
        try:
            while (result := await results.get()) is not None:
                response, held = result
                yield response
                await budget.release(held)
            await reader
        finally:
            reader.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(reader, *tasks, return_exceptions=True)
