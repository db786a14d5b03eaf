"""Health's List method answers every service's status (grpc's asyncio servicer raises)."""

from __future__ import annotations

from grpc_health.v1 import health_pb2

from specialist_service import service
from tests.tutti.test_server import SERVING, STAGE_SERVICE, Start, python_config, start

__all__ = ["start"]  # the fixture, used by name


async def test_list_answers_every_service_serving(start: Start) -> None:
    running = await start([service(python_config("tests.stages:echo", stage="echo"))])
    listed = await running.health.List(health_pb2.HealthListRequest(), timeout=10)
    assert {name: s.status for name, s in listed.statuses.items()} == {
        "": SERVING,
        STAGE_SERVICE: SERVING,
    }
