"""A client that stops reading a streamed answer, then leaves, stops the backend's generation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from google.protobuf import message

from specialist_service import Backend, Prediction, service
from tests.tutti.test_server import Start, eventually, python_config, start
from tutti.messages import pack
from tutti.v1 import payloads_pb2, stage_pb2

__all__ = ["start"]  # the fixture, used by name


class Endless(Backend):
    """Streams deltas until closed, and says when it was."""

    input_type = output_type = "tutti.v1.Text"
    name, version = "endless", "1"

    def __init__(self) -> None:
        self.deltas = 0
        self.closed = asyncio.Event()

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        return Prediction(payloads_pb2.Text(text="whole"))

    async def stream(
        self, msg: message.Message, timeout: float | None = None
    ) -> AsyncIterator[str | Prediction]:
        try:
            while True:
                self.deltas += 1
                yield "x" * 65536  # a few of these fill grpc's window
                await asyncio.sleep(0)
        finally:
            self.closed.set()


async def test_leaving_a_stream_closes_the_backends_generation(start: Start) -> None:
    backend = Endless()
    config = python_config("tests.stages:echo", stage="endless")
    running = await start([service(config, backend=backend)])
    call = running.stage.InvokeStream(
        stage_pb2.InvokeStreamRequest(input=pack(payloads_pb2.Text(text="go")))
    )
    await call.read()
    # The client reads no more: the server blocks writing once the window is full.
    before = -1
    while backend.deltas != before:
        before = backend.deltas
        await asyncio.sleep(0.2)
    call.cancel()
    await eventually(backend.closed.is_set, "the backend's stream to be closed")
    produced = backend.deltas
    await asyncio.sleep(0.2)
    assert backend.deltas == produced, "the generation went on after the client left"
