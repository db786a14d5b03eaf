"""One channel per endpoint, shared by every call to it."""

from __future__ import annotations

from grpc import aio

from tutti.server import DEFAULT_MAX_MESSAGE_BYTES
from tutti.telemetry import client_interceptors

__all__ = ["ChannelPool"]


class ChannelPool:
    """Creates a channel the first time an endpoint is used and reuses it after.

    A target may be `host:port`, or `dns:///name:port` to balance across every
    address the name resolves to.
    """

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._channels: dict[str, aio.Channel] = {}
        self._options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.lb_policy_name", "round_robin"),
        ]

    def get(self, target: str) -> aio.Channel:
        channel = self._channels.get(target)
        if channel is None:
            # Each call gets a client span whose context travels in the metadata,
            # so the callee's server span joins the caller's trace.
            channel = aio.insecure_channel(
                target, options=self._options, interceptors=client_interceptors()
            )
            self._channels[target] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()
