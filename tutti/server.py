"""The one async server bootstrap every Tutti service runs on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2
from grpc_reflection.v1alpha import reflection

from tutti.decoding import decoding_handlers
from tutti.health import HealthServicer
from tutti.heap import heap_trimmer
from tutti.interceptor import Gate, guarded_handlers
from tutti.security import ServerTls

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "Server", "ServerOptions", "Service", "serve_until_signal"]

log = logging.getLogger("tutti.server")

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Calls one service runs at once; beyond it, RESOURCE_EXHAUSTED at once rather than a queue.
DEFAULT_MAX_IN_FLIGHT = 256
# Request streams (RouteStream) open at once, counted apart from calls, and how long one may
# send nothing before it is closed: idle streams must not crowd out calls or probes.
DEFAULT_MAX_STREAMS = 64
DEFAULT_STREAM_IDLE_S = 300.0


class _ClientLeftFilter(logging.Filter):
    """grpc's traceback for an answer that could not be written because the client had left.

    grpc skips that log only when it saw the client close before the failed
    write, a race it often loses when a client cancels a stream it stopped
    reading. Nothing failed on the server's side: one DEBUG line instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("ExecuteBatchError raised in core"):
            log.debug("a client left while its answer was being written: %s", record.getMessage())
            return False
        return True


_CLIENT_LEFT = _ClientLeftFilter()


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 0
    # Seconds in-flight requests get to finish after SIGTERM.
    grace_s: float = 10.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_streams: int = DEFAULT_MAX_STREAMS
    stream_idle_s: float = DEFAULT_STREAM_IDLE_S
    # TLS (mutual when it names a client CA); None serves plaintext, on loopback by default.
    tls: ServerTls | None = None
    # A second, plaintext port on the same host serving only grpc.health.v1 (0: a free one),
    # for probes that cannot speak TLS (the kubelet's). None: health on the main port only.
    health_port: int | None = None


@dataclass(frozen=True)
class Service:
    """A servicer with what the bootstrap needs to serve it."""

    name: str  # full gRPC service name, e.g. "tutti.v1.StageService"; its methods come
    # from the descriptor the generated module registered
    servicer: object
    # Closes what the servicer opened (outbound channels); runs after the drain.
    close: Callable[[], Awaitable[None]] | None = None
    interceptors: Sequence[aio.ServerInterceptor] = field(default_factory=tuple)
    # Checks each call's metadata before the method runs (the router's bearer token).
    authorize: Callable[[Any], None] | None = None
    # Counts this service's calls in flight; the router reports it as its queue depth.
    gate: Gate | None = None


class Server:
    """grpc.aio server with health, reflection, error mapping and an orderly stop.

    Create it inside the running loop. `port` is the bound port, so tests can
    ask for port 0. With `options.health_port`, a second plaintext server on
    the same host serves only health, from the same servicer (the main port
    keeps serving it too, for clients): TLS on the main port, probes that
    cannot speak it on the other. `health_port` is its bound port.
    """

    def __init__(
        self, services: Sequence[Service], options: ServerOptions = ServerOptions()
    ) -> None:
        self.options = options
        self.services = tuple(services)
        extra = [i for s in self.services for i in s.interceptors]
        message_limits = [
            ("grpc.max_receive_message_length", options.max_message_bytes),
            ("grpc.max_send_message_length", options.max_message_bytes),
            # grpc sets SO_REUSEPORT by default on Linux: two servers on one port would
            # silently share its calls. A port in use must be an error instead.
            ("grpc.so_reuseport", 0),
            # Without probing, a connection's receive window stays at grpc's 64 KB default:
            # a client that sends and never reads costs the server that window, not one
            # grown to megabytes (about 15 MB a client, measured, with 100 KB requests).
            ("grpc.http2.bdp_probe", 0),
        ]
        # The server span (when tracing is on) encloses the error mapping, which
        # wraps each servicer method, so it records the status the client gets.
        interceptors = [*extra]
        logging.getLogger("grpc._cython.cygrpc").addFilter(_CLIENT_LEFT)  # again: a no-op
        # Load beyond what a service can take is shed at once (RESOURCE_EXHAUSTED) by its
        # Gate, not by grpc's maximum_concurrent_rpcs, which would count health checks and
        # idle streams with the calls: a flooded service must still answer its probes.
        self._server = aio.server(interceptors=interceptors or None, options=message_limits)
        self.health = HealthServicer()
        limit = options.max_message_bytes
        self._add(health.SERVICE_NAME, decoding_handlers(health.SERVICE_NAME, self.health))
        for service in self.services:
            gate = service.gate or Gate()
            gate.authorize = service.authorize
            gate.limit = options.max_in_flight
            gate.stream_limit = options.max_streams
            gate.stream_idle_s = options.stream_idle_s
            gate.max_answer_bytes = limit
            self._add(service.name, guarded_handlers(service.name, service.servicer, gate))
        names = [*(s.name for s in self.services), health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflecting = reflection.aio.ReflectionServicer(names)
        # Reflection asks for the same credentials as the service it describes (the router's
        # token); health stays open, for the kubelet's probes.
        token = next((s.authorize for s in self.services if s.authorize is not None), None)
        self._add(
            reflection.SERVICE_NAME,
            decoding_handlers(reflection.SERVICE_NAME, reflecting, token, limit),
        )
        self.port = 0
        # The health port shares the servicer, so both ports report the same statuses.
        self._health_server: aio.Server | None = None
        if options.health_port is not None:
            self._health_server = aio.server(options=[("grpc.so_reuseport", 0)])
            _register(
                self._health_server,
                health.SERVICE_NAME,
                decoding_handlers(health.SERVICE_NAME, self.health),
            )
        self.health_port = 0
        self._stopped = False
        self._trimmer: asyncio.Task[None] | None = None

    def _add(self, name: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]) -> None:
        _register(self._server, name, handlers)

    @property
    def address(self) -> str:
        return f"{self.options.host}:{self.port}"

    @property
    def health_address(self) -> str | None:
        """The plaintext health port's address once started; None without one."""
        if self._health_server is None:
            return None
        return f"{self.options.host}:{self.health_port}"

    async def start(self) -> int:
        address = f"{self.options.host}:{self.options.port}"
        credentials = self.options.tls.credentials() if self.options.tls is not None else None
        self.port = _bind(self._server, address, credentials)
        try:
            if self._health_server is not None:
                # Bound before either serves: a health port in use fails the start, not later.
                health_address = f"{self.options.host}:{self.options.health_port}"
                self.health_port = _bind(self._health_server, health_address, None)
                await self._health_server.start()
            await self._server.start()
        except BaseException:
            # A start that failed leaves no health port answering for a server that is not up.
            await self._server.stop(0)
            if self._health_server is not None:
                await self._health_server.stop(0)
            raise
        self._trimmer = asyncio.create_task(heap_trimmer(), name="tutti-heap-trimmer")
        serving = health_pb2.HealthCheckResponse.SERVING
        await self.health.set("", serving)
        for service in self.services:
            await self.health.set(service.name, serving)
        return self.port

    async def stop(self, grace_s: float | None = None) -> None:
        """Drain in a fixed order: NOT_SERVING, stop accepting and finish in-flight, close outbound.

        Telemetry is shut down after this by whoever set it up, so that the
        spans of the drained calls are still exported.
        """
        if self._stopped:
            return
        self._stopped = True
        await self.health.enter_graceful_shutdown()
        await self._server.stop(self.options.grace_s if grace_s is None else grace_s)
        # After the drain: probes see NOT_SERVING on the health port for all of it.
        if self._health_server is not None:
            await self._health_server.stop(0)
        if self._trimmer is not None:
            self._trimmer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._trimmer
        for service in self.services:
            if service.close is not None:
                await service.close()

    async def wait(self) -> None:
        await self._server.wait_for_termination()


def _register(
    server: aio.Server, name: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)


def _bind(server: aio.Server, address: str, credentials: grpc.ServerCredentials | None) -> int:
    try:
        if credentials is None:
            return server.add_insecure_port(address)
        return server.add_secure_port(address, credentials)
    except RuntimeError as exc:  # grpc's word for a refused bind
        raise OSError(f"cannot bind {address}: is the port in use?") from exc


async def serve_until_signal(
    server: Server, on_ready: Callable[[Server], None] | None = None
) -> None:
    """Start `server`, then drain and stop it on SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        if on_ready is not None:
            on_ready(server)
        await stop.wait()
        log.info("signal received; draining for up to %.1fs", server.options.grace_s)
        await server.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
