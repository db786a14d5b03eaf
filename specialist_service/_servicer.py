"""tutti.v1.StageService over one backend: protobuf in, a predict call, protobuf out."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from google.protobuf import message
from grpc import aio

from specialist_service._backend import Backend, Prediction
from specialist_service._config import SpecialistConfig
from specialist_service._factory import build_backend
from tutti.messages import MessageTypes, pack, validate_input
from tutti.server import Service
from tutti.v1 import stage_pb2, stage_pb2_grpc

__all__ = ["StageServicer", "service"]


class StageServicer(stage_pb2_grpc.StageServiceServicer):
    """Serves one model; errors are raised and left to tutti.interceptor to map."""

    def __init__(
        self, config: SpecialistConfig, backend: Backend, types: MessageTypes | None = None
    ) -> None:
        self._config = config
        self._backend = backend
        self._types = types or MessageTypes()
        self._model = stage_pb2.ModelRef(name=backend.name, version=backend.version)
        self._description = stage_pb2.DescribeResponse(
            stage=config.stage,
            input_type=backend.input_type,
            output_type=backend.output_type,
            descriptors=self._types.descriptor_set([backend.input_type, backend.output_type]),
            model_card=stage_pb2.ModelCard(
                name=backend.name,
                version=backend.version,
                price=config.price.to_proto(),
                expected_latency_ms=config.expected_latency_ms,
                description=config.description,
            ),
        )

    async def Invoke(
        self, request: stage_pb2.InvokeRequest, context: aio.ServicerContext[Any, Any]
    ) -> stage_pb2.InvokeResponse:
        msg = self._input(request)
        prediction = await self._backend.predict(msg, context.time_remaining())
        return self._response(prediction)

    async def InvokeStream(
        self, request: stage_pb2.InvokeStreamRequest, context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[stage_pb2.InvokeStreamResponse]:
        msg = self._input(request)
        prediction: Prediction | None = None
        stream = self._backend.stream(msg, context.time_remaining())
        async with contextlib.aclosing(stream) as items:  # type: ignore[type-var]
            async for item in items:
                if isinstance(item, Prediction):  # always last
                    prediction = item
                    break
                yield stage_pb2.InvokeStreamResponse(delta=item)
        if prediction is None:
            raise TypeError(
                f"the {self._config.backend} backend's stream ended without a Prediction"
            )
        yield stage_pb2.InvokeStreamResponse(response=self._response(prediction))

    def _input(
        self, request: stage_pb2.InvokeRequest | stage_pb2.InvokeStreamRequest
    ) -> message.Message:
        msg = self._types.unpack(request.input, self._backend.input_type, "input")
        validate_input(msg, "input")
        return msg

    def _response(self, prediction: Prediction) -> stage_pb2.InvokeResponse:
        usage = stage_pb2.Usage(
            input_tokens=prediction.input_tokens,
            output_tokens=prediction.output_tokens,
            cost_usd=self._config.price.cost_usd(prediction.input_tokens, prediction.output_tokens),
            compute_ms=prediction.compute_ms or 0.0,
        )
        return stage_pb2.InvokeResponse(
            output=pack(prediction.output), usage=usage, model=self._model
        )

    async def Describe(
        self, request: stage_pb2.DescribeRequest, context: aio.ServicerContext[Any, Any]
    ) -> stage_pb2.DescribeResponse:
        return self._description


def service(
    config: SpecialistConfig, types: MessageTypes | None = None, backend: Backend | None = None
) -> Service:
    """Wrap the configured backend (built here unless given) for tutti.server.Server."""
    types = types or MessageTypes()
    backend = backend or build_backend(config, types)
    return Service(
        name="tutti.v1.StageService",
        servicer=StageServicer(config, backend, types),
        # Backends holding connections (openai, oip) close them when the server stops.
        close=backend.aclose,
    )
