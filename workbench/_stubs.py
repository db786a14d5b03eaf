"""The generated gRPC client stubs, typed for the grpc.aio channels the workbench calls through."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from grpc import aio

from tutti.v1 import router_pb2_grpc, stage_pb2_grpc

__all__ = ["router_stub", "stage_stub"]

# The generated constructors carry no annotations yet (no router_pb2_grpc.pyi), which mypy
# strict refuses to call; the casts say only what they take and give.
_RouterStub = cast(
    "Callable[[aio.Channel], router_pb2_grpc.RouterServiceStub]", router_pb2_grpc.RouterServiceStub
)
_StageStub = cast(
    "Callable[[aio.Channel], stage_pb2_grpc.StageServiceStub]", stage_pb2_grpc.StageServiceStub
)


def router_stub(channel: aio.Channel) -> router_pb2_grpc.RouterServiceStub:
    """A tutti.v1.RouterService client over `channel`."""
    return _RouterStub(channel)


def stage_stub(channel: aio.Channel) -> stage_pb2_grpc.StageServiceStub:
    """A tutti.v1.StageService client over `channel`."""
    return _StageStub(channel)
