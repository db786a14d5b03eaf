"""The engine: runs a compiled plan, one coroutine per node kind, against StageClients.

`StageClient` is the port stages are called through; `GrpcStageClient`
calls them over gRPC and `FakeStageClient` answers in memory, for tests
(a user's too). `Budgets` holds every decision about time and money.
"""

from __future__ import annotations

from router_service.engine._budget import Budgets, request_cost_cap, request_deadline
from router_service.engine._call_record import PASSED_THROUGH
from router_service.engine._circuit import FAILURE_CODES, Circuit
from router_service.engine._client import StageClient, StageClientError
from router_service.engine._engine import Engine
from router_service.engine._fake_client import FakeStageClient, FakeStages, answer, echo
from router_service.engine._grpc_client import (
    GrpcStageClient,
    grpc_clients,
    service_config,
    stage_channel,
)
from router_service.engine._run import Result, Run

__all__ = [
    "FAILURE_CODES",
    "PASSED_THROUGH",
    "Budgets",
    "Circuit",
    "Engine",
    "FakeStageClient",
    "FakeStages",
    "GrpcStageClient",
    "Result",
    "Run",
    "StageClient",
    "StageClientError",
    "answer",
    "echo",
    "grpc_clients",
    "request_cost_cap",
    "request_deadline",
    "service_config",
    "stage_channel",
]
