"""The LLM desk's drafts: tickets through the router, the drafter's figures from each Execution.

The intent figures of the support desk are `tutti eval`'s; this measures what eval does
not: which tickets got an LLM draft, at what cost and latency.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence

import yaml
from grpc import aio
from tqdm import tqdm

from tutti.messages import pack
from tutti.support.v1 import support_pb2
from tutti.v1 import router_pb2, router_pb2_grpc
from workbench.demo._desk import Ticket
from workbench.mesh import Mesh
from workbench.report import Outcome, Report, draft_figures, summarise

__all__ = ["DRAFTER", "measure_drafts", "run_composed"]

DRAFTER = "drafter"


async def run_composed(
    address: str,
    composition: str,
    tickets: Sequence[Ticket],
    executions: list[router_pb2.Execution] | None = None,
    timeout_s: float = 30,
) -> list[Outcome]:
    """Route every ticket through the router, one at a time (so that latencies are not
    queueing); keep every request's execution in `executions` when given."""
    interactive = sys.stderr.isatty()
    outcomes = []
    async with aio.insecure_channel(address) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        with tqdm(
            total=len(tickets),
            desc=f"{composition:<24}",
            file=sys.stderr,
            mininterval=0.2 if interactive else 10,
            ncols=90,
        ) as bar:
            for ticket in tickets:
                outcomes.append(await _route(stub, composition, ticket, executions, timeout_s))
                bar.update()
    return outcomes


async def _route(
    stub: router_pb2_grpc.RouterServiceAsyncStub,
    composition: str,
    ticket: Ticket,
    executions: list[router_pb2.Execution] | None,
    timeout_s: float,
) -> Outcome:
    text = support_pb2.Ticket(id=ticket.id, text=ticket.text)
    request = router_pb2.RouteRequest(composition=composition, input=pack(text))
    started = time.perf_counter()
    try:
        response = await stub.Route(request, timeout=timeout_s)
    except aio.AioRpcError as exc:
        return Outcome(ticket.intent, "", 0.0, 0.0, 0.0, error=exc.code().name)
    latency = (time.perf_counter() - started) * 1000.0
    resolution = support_pb2.Resolution()
    response.output.Unpack(resolution)
    execution = response.execution
    if executions is not None:
        executions.append(execution)
    return Outcome(
        ticket.intent,
        resolution.triage.intent.label,
        latency,
        execution.total_cost_usd,
        sum(s.compute_ms for s in execution.stages),
        escalated=any(p.startswith("escalate@") for p in execution.path),
        fanned_out=any(p.startswith("fanout:merged") for p in execution.path),
    )


def measure_drafts(
    mesh: Mesh, tickets: Sequence[Ticket], report: Report
) -> list[router_pb2.Execution]:
    """Send `tickets` through the LLM desk; add it to `report` with the drafter's figures.

    Returns the execution of each request that was answered, in ticket order.
    """
    name = yaml.safe_load(mesh.composition.read_text(encoding="utf-8"))["composition"]
    executions: list[router_pb2.Execution] = []
    # A draft takes seconds on a CPU: the composition's own budget bounds each request.
    outcomes = asyncio.run(
        run_composed(mesh.router_address, name, tickets, executions=executions, timeout_s=120)
    )
    report.systems.append(summarise(name, "drafts", outcomes))
    report.drafts = draft_figures(executions, len(tickets), DRAFTER)
    report.drafts["requests_failed"] = sum(bool(o.error) for o in outcomes)
    return executions
