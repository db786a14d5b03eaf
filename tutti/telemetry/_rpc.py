"""One span per RPC on each side of a hop, the caller's context carried in W3C traceparent.

Tutti's own, in place of opentelemetry-instrumentation-grpc's interceptors
(py-spy on the router under load: their server interceptor alone took 15 % of
its samples; per call it runs a coroutine chain, builds a new handler, wraps
the context in a wrapt proxy and parses the peer address into attributes; the
client side built its attributes per call and read the status in a task of
its own). Here the server span is opened inside the method handlers built
once at start-up (tutti.interceptor), names and attributes are built once per
method, and a call site opens its client span itself (`CallSpans`) and passes its
context in the call's metadata, with no client interceptor. Span names
and attributes follow the same semantic conventions as theirs, less the peer
address and user agent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = ["CallSpans", "end_call_span", "traced_stream", "traced_unary"]

_STATUS_CODE = "rpc.grpc.status_code"
# Codes that mean the server failed; others (NOT_FOUND, INVALID_ARGUMENT...) leave the
# span's status unset, as the semantic conventions ask.
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
# grpc's own plumbing: tracing a kubelet probing every few seconds would bury the requests.
_UNTRACED = ("/grpc.health.", "/grpc.reflection.")
_tracer = trace.get_tracer("tutti.rpc")


def _attributes(full_method: str) -> dict[str, str | int]:
    service, _, method = full_method.lstrip("/").partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method, _STATUS_CODE: 0}


def _finish(span: trace.Span, code: grpc.StatusCode, details: str | None, server: bool) -> None:
    if code is not grpc.StatusCode.OK:
        span.set_attribute(_STATUS_CODE, code.value[0])
        if not server or code in _SERVER_FAULTS:
            span.set_status(Status(StatusCode.ERROR, f"{code.name}: {details or ''}"))
    span.end()


def _server_attributes(full_method: str) -> dict[str, str | int]:
    """A server span's attributes, with the name of the service that serves it.

    The resource names the service too, but some backends keep no resource
    attributes (Phoenix reads only its project name from it): on the server
    span, the service a call reached is part of the span itself.
    """
    attributes = _attributes(full_method)
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    name = resource.attributes.get("service.name") if resource is not None else None
    if isinstance(name, str):
        attributes["tutti.service"] = name
    return attributes


def _server_span(full_method: str, attributes: dict[str, str | int], metadata: Any) -> trace.Span:
    carrier = {item.key: item.value for item in metadata} if metadata else {}
    parent = propagate.extract(carrier) if carrier else None
    return _tracer.start_span(full_method, parent, SpanKind.SERVER, attributes)


def traced_unary(
    full_method: str, run: Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]
) -> Callable[..., Any]:
    """`run` (a unary-response handler) inside a server span that continues the caller's trace."""
    attributes = _server_attributes(full_method)

    async def traced(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        span = _server_span(full_method, attributes, context.invocation_metadata())
        token = otel_context.attach(trace.set_span_in_context(span))
        code = grpc.StatusCode.OK
        try:
            return await run(request, context)
        except BaseException:
            # The error mapping aborted with the code the client gets; anything else
            # (a cancelled call) ends as grpc ends it.
            code = context.code() or grpc.StatusCode.CANCELLED
            raise
        finally:
            otel_context.detach(token)
            _finish(span, _code(code), context.details(), server=True)

    return traced


def traced_stream(
    full_method: str, run: Callable[[Any, aio.ServicerContext[Any, Any]], AsyncIterator[Any]]
) -> Callable[..., Any]:
    """`run` (a stream-response handler) inside a server span that continues the caller's trace."""
    attributes = _server_attributes(full_method)

    async def traced(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        span = _server_span(full_method, attributes, context.invocation_metadata())
        token = otel_context.attach(trace.set_span_in_context(span))
        code = grpc.StatusCode.OK
        try:
            async for response in run(request, context):
                yield response
        except BaseException:
            code = context.code() or grpc.StatusCode.CANCELLED
            raise
        finally:
            otel_context.detach(token)
            _finish(span, _code(code), context.details(), server=True)

    return traced


class CallSpans:
    """The client side of one method's calls made without an interceptor.

    `start()` gives the call's client span and the metadata that carries its
    context, for the caller to pass to the stub; `end_call_span` ends it with
    the call's status. There is no client interceptor: any grpc.aio client
    interceptor sends a channel's calls down grpc's intercepted-call path, which
    measured in the benchmark mesh at about a fifth more CPU per request, on
    the caller and on the callee, even with no span recorded.
    Under a caller that is not sampled there is no span, only the metadata.
    """

    def __init__(self, full_method: str) -> None:
        self.name = full_method
        self.attributes = _attributes(full_method)

    def start(self) -> tuple[trace.Span | None, tuple[tuple[str, str], ...]]:
        span: trace.Span | None = None
        ctx = None
        parent = trace.get_current_span().get_span_context()
        if parent.trace_flags.sampled or not parent.is_valid:
            span = _tracer.start_span(self.name, kind=SpanKind.CLIENT, attributes=self.attributes)
            ctx = trace.set_span_in_context(span)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, ctx)
        return span, tuple(carrier.items())


def end_call_span(span: trace.Span | None, code: grpc.StatusCode, details: str | None) -> None:
    """End a CallSpans span (None: nothing to end) with the status the call ended with."""
    if span is not None:
        _finish(span, code, details, server=False)


def _code(code: Any) -> grpc.StatusCode:
    """The ServicerContext's code, which grpc keeps as a StatusCode or as its int value."""
    if isinstance(code, grpc.StatusCode):
        return code
    return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
