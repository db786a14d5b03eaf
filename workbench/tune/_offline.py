"""Settings of a composition's knobs evaluated by the router's own engine, over recorded calls."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

from router_service import (
    Draft,
    Engine,
    Router,
    compile_composition,
    describe_stages,
    grpc_clients,
    read_composition,
)
from tutti.channels import ChannelPool
from tutti.errors import TuttiError
from tutti.messages import MessageTypes, pack
from tutti.v1 import router_pb2
from workbench.dataset import Dataset, LabelPath
from workbench.evaluation import Outcome, System, outcome_of, with_endpoints
from workbench.tune._knobs import Knob, set_knobs
from workbench.tune._replay import Recording

__all__ = ["RECORDING_CONCURRENCY", "Replayer"]

# Live calls in flight during the recorded pass: as many as eval sends, so that a CPU-bound
# stage meets its budget on a small machine as it does when measured.
RECORDING_CONCURRENCY = 4


class Replayer:
    """A router in this process whose stages answer from a Recording (live on a miss)."""

    def __init__(self, draft: Draft, endpoints: Mapping[str, str], types: MessageTypes) -> None:
        self.draft = with_endpoints(draft, endpoints)
        self.endpoints = dict(endpoints)
        self.types = types
        self.pool = ChannelPool()
        self.recording = Recording(grpc_clients(self.pool))
        self.described: dict[str, tuple[str, str]] = {}
        self.cards: dict[str, object] = {}

    async def describe(self) -> None:
        described = await describe_stages(self.draft, self.pool, self.types)
        self.described = {n: (d.input_type, d.output_type) for n, d in described.items()}
        self.cards = {n: d.profile for n, d in described.items()}

    async def close(self) -> None:
        await self.pool.close()

    def _engine(self, draft: Draft) -> Engine:
        composition = compile_composition(draft, self.described, self.types)
        return Engine(composition, self.recording, self.types, self.cards)  # type: ignore[arg-type]

    def engine(self, values: Mapping[Knob, float]) -> Engine:
        """The composition compiled with `values` for its knobs (the file's for the rest)."""
        before = set_knobs(self.draft.document, values)
        try:
            return self._engine(self.draft)
        finally:
            set_knobs(self.draft.document, before)

    def baseline_engine(self, path: Path) -> Engine:
        return self._engine(with_endpoints(read_composition(path), self.endpoints))

    async def outcomes(
        self,
        engine: Engine,
        dataset: Dataset,
        label: LabelPath,
        concurrency: int = 1,
    ) -> list[Outcome]:
        """Every item through `engine`, by Router.route: the same code a live router runs.

        With `concurrency` > 1 the items go concurrently, for a pass whose calls are live.
        """
        name = engine.composition.name
        router = Router({name: engine}, self.types, self.pool, self.recording)
        slots = asyncio.Semaphore(concurrency)

        async def one(item: object) -> Outcome:
            async with slots:
                request = router_pb2.RouteRequest(composition=name, input=pack(item.input))  # type: ignore[attr-defined]
                try:
                    response = await router.route(request, None)
                except TuttiError as exc:  # a failed call is not recorded: a later run retries it
                    error = f"{exc.code.name}: {exc.public_message}"
                    return Outcome(item.id, item.label, "", 0.0, 0.0, error=error)  # type: ignore[attr-defined]
                return outcome_of(item, response, label, self.types, response.execution.latency_ms)  # type: ignore[arg-type]

        if concurrency == 1:
            return [await one(item) for item in dataset.items]
        return list(await asyncio.gather(*(one(item) for item in dataset.items)))


def baseline_systems(systems: Sequence[System]) -> list[System]:
    return [s for s in systems if s.kind == "baseline"]
