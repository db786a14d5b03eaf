"""The drain composition's stage: it says on stdout when a request arrives, then answers late."""

from __future__ import annotations

import asyncio

from tutti.v1 import payloads_pb2

STARTED = "slow stage: started "


class Slow:
    input_type = "tutti.v1.Text"
    output_type = "tutti.v1.Text"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def predict(self, message: payloads_pb2.Text) -> payloads_pb2.Text:
        # The test reads this line from the container's log: the request is then in flight.
        print(STARTED + message.text, flush=True)
        await asyncio.sleep(self.seconds)  # the model's own latency, not a synchronisation
        return payloads_pb2.Text(text=f"answered {message.text}")


def slow(seconds: float) -> Slow:
    return Slow(seconds)
