"""The router service: composition engine, routing, budgets."""

from __future__ import annotations

from router_service._compile import compile_composition, read_composition
from router_service._engine import Engine, Run
from router_service._plan import Composition
from router_service._router import Router
from router_service._servicer import RouterServicer
from tutti.server import Service
from tutti.v1 import router_pb2_grpc

__all__ = [
    "Composition",
    "Engine",
    "Router",
    "RouterServicer",
    "Run",
    "compile_composition",
    "read_composition",
    "service",
]


def service(router: Router) -> Service:
    """The RouterService, ready for tutti.server.Server."""
    return Service(
        name="tutti.v1.RouterService",
        servicer=RouterServicer(router),
        add_to_server=router_pb2_grpc.add_RouterServiceServicer_to_server,
        close=router.close,
    )
