"""Request bytes that do not decode: answered INVALID_ARGUMENT, not grpc's UNKNOWN and a traceback."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import descriptor_pool, message, message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc import aio

from tutti.errors import AnswerTooLargeError, RequestError, TuttiError, check_answer_size

__all__ = ["Decoder", "Undecodable", "decoding_handlers", "method_handlers"]

log = logging.getLogger("tutti.errors")

# At most one log line per method this often about requests that did not decode: anyone
# can send bytes, before any token is checked, and must not be able to fill the log.
UNDECODABLE_LOG_EVERY_S = 10.0


class Undecodable:
    """A request message whose bytes did not decode, handed on in place of the message.

    grpc runs a method's deserializer before the method, outside its error
    mapping: a raise there reaches the client as UNKNOWN with the exception's
    text and logs a traceback. So the deserializer returns this instead, and
    the guard answers INVALID_ARGUMENT (or, for a stream of requests whose
    method takes them, the method answers that one item).
    """

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def error(self) -> RequestError:
        return RequestError("request", f"the bytes are not a valid {self.type_name}")


# (request streaming, response streaming) -> grpc's handler constructor.
_HANDLER_KINDS: dict[tuple[bool, bool], Callable[..., grpc.RpcMethodHandler[Any, Any]]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


class Decoder:
    """A method's request deserializer that never raises; logs its failures, rate-limited."""

    def __init__(self, method: str, cls: type[message.Message]) -> None:
        self.method = method
        self.cls = cls
        self.type_name = cls.DESCRIPTOR.full_name
        self._last_log = -UNDECODABLE_LOG_EVERY_S
        self._unlogged = 0

    def __call__(self, data: bytes) -> message.Message | Undecodable:
        try:
            return self.cls.FromString(data)
        except message.DecodeError:
            self._unlogged += 1
            now = time.monotonic()
            if now - self._last_log >= UNDECODABLE_LOG_EVERY_S:
                log.warning(
                    "%s: %d request(s) that are not a valid %s",
                    self.method,
                    self._unlogged,
                    self.type_name,
                )
                self._last_log, self._unlogged = now, 0
            return Undecodable(self.type_name)


def method_handlers(
    service_name: str,
    servicer: object,
    wrap: Callable[[MethodDescriptor, str, Callable[..., Any]], Callable[..., Any]],
) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """The handlers of `servicer`'s methods, built once from the service's descriptor: each
    request decoded by a Decoder, each behaviour as `wrap(method, full_name, behavior)`."""
    service = descriptor_pool.Default().FindServiceByName(service_name)
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        full = f"/{service_name}/{method.name}"
        run = wrap(method, full, getattr(servicer, method.name))
        decode = Decoder(full, message_factory.GetMessageClass(method.input_type))
        encode = message_factory.GetMessageClass(method.output_type).SerializeToString
        make = _HANDLER_KINDS[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = make(run, request_deserializer=decode, response_serializer=encode)
    return handlers


def decoding_handlers(
    service_name: str,
    servicer: object,
    authorize: Callable[[Any], None] | None = None,
    max_answer_bytes: int = 0,
) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """Handlers for a service that is not Tutti's (health, reflection), whose methods keep
    their own error handling: only request bytes that do not decode are answered here,
    with INVALID_ARGUMENT instead of grpc's UNKNOWN and a logged traceback, as are answers
    over `max_answer_bytes` (RESOURCE_EXHAUSTED, where grpc would log a failed send); the
    caller's credentials are checked first when `authorize` is given."""
    checked = _Checked(authorize, max_answer_bytes)

    def wrap(method: MethodDescriptor, _: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
        if method.client_streaming:
            return _foreign_stream(behavior, checked)
        return _foreign_unary(behavior, checked)

    return method_handlers(service_name, servicer, wrap)


class _Checked:
    """What a foreign service's calls are checked for: credentials, and the size of answers."""

    def __init__(self, authorize: Callable[[Any], None] | None, max_answer_bytes: int) -> None:
        self.authorize = authorize
        self.max_answer_bytes = max_answer_bytes

    async def caller(self, context: aio.ServicerContext[Any, Any]) -> None:
        """Check the call's credentials, if this service asks for them."""
        if self.authorize is None:
            return
        try:
            self.authorize(context.invocation_metadata())
        except TuttiError as exc:
            await context.abort(exc.code, exc.public_message)

    async def answer(self, response: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        try:
            check_answer_size(response, self.max_answer_bytes)
        except AnswerTooLargeError as exc:
            await context.abort(exc.code, exc.public_message)
        return response


def _foreign_unary(behavior: Callable[..., Any], checked: _Checked) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            await checked.caller(context)
            if isinstance(request, Undecodable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(request.error()))
            async for response in behavior(request, context):
                yield await checked.answer(response, context)

        return stream

    async def unary(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        await checked.caller(context)
        if isinstance(request, Undecodable):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(request.error()))
        return await checked.answer(await behavior(request, context), context)

    return unary


def _foreign_stream(behavior: Callable[..., Any], checked: _Checked) -> Callable[..., Any]:
    def refusing(
        requests: AsyncIterator[Any], context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        async def each() -> AsyncIterator[Any]:
            async for request in requests:
                if isinstance(request, Undecodable):
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(request.error()))
                yield request

        return each()

    # grpc.aio tells a streaming behaviour from one that writes to its context by its kind.
    if inspect.isasyncgenfunction(behavior):

        async def stream(
            requests: AsyncIterator[Any], context: aio.ServicerContext[Any, Any]
        ) -> Any:
            await checked.caller(context)
            async for response in behavior(refusing(requests, context), context):
                yield await checked.answer(response, context)

        return stream

    async def unary(requests: AsyncIterator[Any], context: aio.ServicerContext[Any, Any]) -> Any:
        await checked.caller(context)
        return await checked.answer(await behavior(refusing(requests, context), context), context)

    return unary
