"""The merger service: combine a fan-out's candidate answers into one.

`merge` is the plain-Python merge that a unit test or an in-process
composition can call; `service()` wraps it for `tutti.server.Server`.
"""

from __future__ import annotations

from merger_service._servicer import MergerServicer
from merger_service._strategies import CLASSIFICATION, Merged, Strategy, merge
from tutti.messages import MessageTypes
from tutti.server import Service
from tutti.v1 import merger_pb2_grpc

__all__ = [
    "CLASSIFICATION",
    "SERVICE_NAME",
    "Merged",
    "MergerServicer",
    "Strategy",
    "merge",
    "service",
]

SERVICE_NAME = "tutti.v1.MergerService"


def service(types: MessageTypes | None = None) -> Service:
    """The merger as a Service for `tutti.server.Server`."""
    return Service(
        name=SERVICE_NAME,
        servicer=MergerServicer(types),
        add_to_server=merger_pb2_grpc.add_MergerServiceServicer_to_server,
    )
