"""What a node kind's coroutine may use of the engine: the `Flow` it runs in."""

from __future__ import annotations

import random
from typing import Protocol

from google.protobuf import any_pb2

from router_service._telemetry import RouterInstruments
from router_service.engine._budget import Budgets
from router_service.engine._call import StageCalls
from router_service.engine._decode import Payloads
from router_service.engine._run import Result, Run
from router_service.plan import Node

__all__ = ["Flow"]


class Flow(Protocol):
    """One composition's engine, as the coroutine of each node kind sees it."""

    @property
    def budget(self) -> Budgets: ...

    @property
    def calls(self) -> StageCalls: ...

    @property
    def payloads(self) -> Payloads: ...

    @property
    def instruments(self) -> RouterInstruments: ...

    @property
    def rng(self) -> random.Random: ...

    async def node(self, node: Node, payload: any_pb2.Any, run: Run) -> Result:
        """Run a node under this one, inside its own span."""
        ...
