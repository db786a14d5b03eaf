"""grpc's health service, with the List method its asyncio servicer leaves unimplemented."""

from __future__ import annotations

from typing import Any

from grpc import aio
from grpc_health.v1 import health, health_pb2

__all__ = ["HealthServicer"]


class HealthServicer(health.aio.HealthServicer):  # type: ignore[misc]  # untyped package
    """Check and Watch as grpc serves them, and List: every service's status at once.

    grpcio-health-checking's asyncio servicer inherits List from the generated
    base, which raises NotImplementedError: each call logged a traceback.
    """

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, None] = {"": None}  # in the order they were set

    async def set(
        self, service: str, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType
    ) -> None:
        self._names[service] = None
        await super().set(service, status)

    async def List(
        self, request: health_pb2.HealthListRequest, context: aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthListResponse:
        response = health_pb2.HealthListResponse()
        for name in self._names:
            # Check, not the servicer's private table: it also knows about the drain.
            checked = await self.Check(health_pb2.HealthCheckRequest(service=name), context)
            response.statuses[name].CopyFrom(checked)
        return response
