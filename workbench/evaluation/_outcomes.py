"""Each item of a labelled file through one system: what it answered, at what cost and speed."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

from grpc import aio
from tqdm import tqdm

from tutti.messages import MessageTypes, pack
from tutti.v1 import router_pb2, router_pb2_grpc
from workbench.dataset import Dataset, Item, LabelPath

__all__ = ["Outcome", "outcome_of", "run_system"]

STATUS_OK = router_pb2.StageRun.STATUS_OK


@dataclass(frozen=True)
class Outcome:
    """What one system did with one item; `stages` are those that answered, in order."""

    item: str
    truth: str
    predicted: str
    cost_usd: float
    latency_ms: float
    stages: tuple[str, ...] = ()
    error: str = ""

    @property
    def correct(self) -> bool:
        return not self.error and self.predicted == self.truth


def outcome_of(
    item: Item,
    response: router_pb2.RouteResponse,
    label: LabelPath,
    types: MessageTypes,
    latency_ms: float,
) -> Outcome:
    """Read the label out of a router's answer. Live runs and offline replays both use this."""
    output = types.message_class(label.output_type)()
    response.output.Unpack(output)
    execution = response.execution
    return Outcome(
        item=item.id,
        truth=item.label,
        predicted=label.read(output),
        cost_usd=execution.total_cost_usd,
        latency_ms=latency_ms,
        stages=tuple(s.stage for s in execution.stages if s.status == STATUS_OK),
    )


def _progress(total: int, label: str) -> tqdm[None]:
    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=f"{label:<28}",
        file=sys.stderr,
        mininterval=0.2 if interactive else 10,
        ncols=90,
        disable=None,  # no bar (and no output at all) when stderr is not a terminal
    )


async def run_system(
    channel: aio.Channel,
    composition: str,
    dataset: Dataset,
    label: LabelPath,
    types: MessageTypes,
    concurrency: int = 8,
    timeout_s: float = 60.0,
    name: str = "",
) -> list[Outcome]:
    """Every item through `composition` on the router, `concurrency` at a time, in file order."""
    stub = router_pb2_grpc.RouterServiceStub(channel)
    slots = asyncio.Semaphore(concurrency)
    outcomes: list[Outcome | None] = [None] * len(dataset.items)

    async def one(index: int, item: Item, bar: tqdm[None]) -> None:
        async with slots:
            request = router_pb2.RouteRequest(composition=composition, input=pack(item.input))
            started = time.perf_counter()
            try:
                response = await stub.Route(request, timeout=timeout_s)
            except aio.AioRpcError as exc:
                elapsed = (time.perf_counter() - started) * 1000.0
                error = f"{exc.code().name}: {exc.details()}"
                outcomes[index] = Outcome(item.id, item.label, "", 0.0, elapsed, error=error)
            else:
                elapsed = (time.perf_counter() - started) * 1000.0
                outcomes[index] = outcome_of(item, response, label, types, elapsed)
            bar.update()

    with _progress(len(dataset.items), name or composition) as bar:
        await asyncio.gather(*(one(i, item, bar) for i, item in enumerate(dataset.items)))
    return [o for o in outcomes if o is not None]
