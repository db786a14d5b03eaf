"""One channel per endpoint and service config, shared by every call to it."""

from __future__ import annotations

from grpc import aio

from tutti.security import ClientTls
from tutti.server import DEFAULT_MAX_MESSAGE_BYTES

__all__ = ["ChannelPool"]

_ROUND_ROBIN = '{"loadBalancingConfig": [{"round_robin": {}}]}'


class ChannelPool:
    """Creates a channel the first time a target is used and reuses it after.

    A target may be `host:port`, `dns:///name:port` or `ipv4:a:p,b:q`; calls
    are balanced round robin across every address it resolves to, and a dead
    address is skipped once its connection fails. `service_config` (JSON)
    carries a stage's retry policy. With `tls`, channels are secure (mutual
    when it holds a client certificate); `tls_changed()` tells when its files
    were replaced, and `renew()` starts over with new channels.
    """

    def __init__(
        self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, tls: ClientTls | None = None
    ) -> None:
        self._channels: dict[tuple[str, str], aio.Channel] = {}
        self._retired: list[aio.Channel] = []
        self.tls = tls
        self._tls_stamp = tls.stamp() if tls is not None else ()
        self._options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.enable_retries", 1),
            # grpc waits up to 120 s between attempts to reach a dead address; a stage that
            # was restarted (by `tutti up`, or its pod) is found again within 2 s.
            ("grpc.initial_reconnect_backoff_ms", 250),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ]

    def get(self, target: str, service_config: str = _ROUND_ROBIN) -> aio.Channel:
        key = (target, service_config)
        channel = self._channels.get(key)
        if channel is None:
            options = [*self._options, ("grpc.service_config", service_config)]
            # No interceptor: the stage client opens each call's span and sends its
            # context in the call's metadata (an interceptor would send every call
            # down grpc's slower intercepted path, traced or not).
            if self.tls is None:
                channel = aio.insecure_channel(target, options=options)
            else:
                channel = aio.secure_channel(target, self.tls.credentials(), options=options)
            self._channels[key] = channel
        return channel

    def tls_changed(self) -> bool:
        return self.tls is not None and self.tls.stamp() != self._tls_stamp

    def renew(self) -> None:
        """Later `get`s make new channels (with the TLS files as they are now); old ones close later."""
        self._retired.extend(self._channels.values())
        self._channels = {}
        if self.tls is not None:
            self._tls_stamp = self.tls.stamp()

    async def close_retired(self, grace_s: float) -> None:
        """Close the channels `renew` retired, giving their calls in flight `grace_s` to finish."""
        retired, self._retired = self._retired, []
        for channel in retired:
            await channel.close(grace=grace_s)

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in [*channels.values(), *self._retired]:
            await channel.close()
        self._retired = []
