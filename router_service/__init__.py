"""The router service: composition (read, compile), plan, engine, cache and servicer.

Layers, each a package behind its own `__init__`: `composition` reads the
YAML into a `plan`; the `engine` runs a plan against `StageClient`s (gRPC,
or the in-memory fake) with every time and money decision in its budget
module; `cache` keeps stage results. `Router` serves compositions and
`service()` puts it on a gRPC server.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from router_service._describe import Described, describe_stages
from router_service._router import Router
from router_service._servicer import RouterServicer
from router_service._telemetry import observe
from router_service.composition import Draft, compile_composition, read_composition
from router_service.engine import (
    Engine,
    FakeStageClient,
    FakeStages,
    GrpcStageClient,
    Run,
    StageClient,
    StageClientError,
    grpc_clients,
)
from router_service.plan import Composition
from tutti.interceptor import Gate
from tutti.server import Service

__all__ = [
    "Composition",
    "Described",
    "Draft",
    "Engine",
    "FakeStageClient",
    "FakeStages",
    "GrpcStageClient",
    "Router",
    "RouterServicer",
    "Run",
    "StageClient",
    "StageClientError",
    "compile_composition",
    "describe_stages",
    "grpc_clients",
    "read_composition",
    "service",
]


# Every router service of this process, for the gauges (registered once: OpenTelemetry keeps
# the first callbacks of an instrument name and ignores later ones).
_LIVE: weakref.WeakKeyDictionary[Router, Gate] = weakref.WeakKeyDictionary()
_GAUGES: list[bool] = []


def _register_gauges() -> None:
    if _GAUGES:
        return
    _GAUGES.append(True)
    observe(
        "tutti.router.in_flight",
        "router calls in flight (its queue depth)",
        lambda: [(float(sum(gate.in_flight for gate in list(_LIVE.values()))), {})],
    )
    observe(
        "tutti.circuit.state",
        "each stage's circuit: 0 closed, 1 half-open, 2 open",
        lambda: [
            (float(circuit.state), {"tutti.composition": name, "tutti.stage": stage})
            for router in list(_LIVE.keys())
            for name, engine in router.engines.items()
            for stage, circuit in engine.circuits.items()
        ],
    )


def service(router: Router, authorize: Callable[[Any], None] | None = None) -> Service:
    """The RouterService, ready for tutti.server.Server.

    `authorize` checks each call's metadata (a bearer token). The calls in
    flight are reported as the gauge `tutti.router.in_flight`, the router's
    queue depth, and each stage's circuit as `tutti.circuit.state`.
    """
    gate = Gate()
    _LIVE[router] = gate
    _register_gauges()
    return Service(
        name="tutti.v1.RouterService",
        servicer=RouterServicer(router),
        close=router.close,
        authorize=authorize,
        gate=gate,
    )
