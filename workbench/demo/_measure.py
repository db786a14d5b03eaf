"""The demo's measurements: tickets through single models and through compositions, over gRPC."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from grpc import aio
from tqdm import tqdm

from tutti.messages import pack
from tutti.support.v1 import support_pb2
from tutti.v1 import router_pb2, router_pb2_grpc, stage_pb2, stage_pb2_grpc
from workbench.demo._desk import DATASET, Ticket
from workbench.mesh import Mesh
from workbench.report import Outcome, Report, draft_figures, summarise
from workbench.route import budget_report

__all__ = ["DRAFTER", "measure", "measure_drafts", "run_composed", "run_single"]

DRAFTER = "drafter"
SWEEP = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
# The fan-out tier sits this far under the strong tier, as in composition.yaml (0.5 / 0.7).
FANOUT_GAP = 0.2


async def _each(
    tickets: Sequence[Ticket], label: str, call: Callable[[Ticket], Awaitable[Outcome]]
) -> list[Outcome]:
    """One request at a time, so that latencies are not queueing; a progress bar on the way."""
    interactive = sys.stderr.isatty()
    outcomes = []
    with tqdm(
        total=len(tickets),
        desc=f"{label:<24}",
        file=sys.stderr,
        mininterval=0.2 if interactive else 10,
        ncols=90,
    ) as bar:
        for ticket in tickets:
            outcomes.append(await call(ticket))
            bar.update()
    return outcomes


def _ticket(ticket: Ticket) -> support_pb2.Ticket:
    return support_pb2.Ticket(id=ticket.id, text=ticket.text)


async def run_single(
    address: str, stage: str, price: float, tickets: Sequence[Ticket]
) -> list[Outcome]:
    """Send every ticket straight to one model's stage service."""
    async with aio.insecure_channel(address) as channel:
        stub = stage_pb2_grpc.StageServiceStub(channel)

        async def call(ticket: Ticket) -> Outcome:
            started = time.perf_counter()
            try:
                response = await stub.Invoke(
                    stage_pb2.InvokeRequest(input=pack(_ticket(ticket)), stage=stage), timeout=30
                )
            except aio.AioRpcError as exc:
                return Outcome(ticket.intent, "", 0.0, 0.0, 0.0, error=exc.code().name)
            latency = (time.perf_counter() - started) * 1000.0
            triage = support_pb2.Triage()
            response.output.Unpack(triage)
            return Outcome(
                ticket.intent, triage.intent.label, latency, price, response.usage.compute_ms
            )

        return await _each(tickets, stage, call)


async def run_composed(
    address: str,
    composition: str,
    tickets: Sequence[Ticket],
    slowest: list[router_pb2.Execution] | None = None,
    executions: list[router_pb2.Execution] | None = None,
    timeout_s: float = 30,
) -> list[Outcome]:
    """Route every ticket through the router; keep the slowest request's execution in `slowest`
    and, if given, every request's in `executions`."""
    async with aio.insecure_channel(address) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)

        async def call(ticket: Ticket) -> Outcome:
            request = router_pb2.RouteRequest(composition=composition, input=pack(_ticket(ticket)))
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
            if slowest is not None and (
                not slowest or execution.latency_ms > slowest[0].latency_ms
            ):
                slowest[:] = [execution]
            return Outcome(
                ticket.intent,
                resolution.triage.intent.label,
                latency,
                execution.total_cost_usd,
                sum(s.compute_ms for s in execution.stages),
                escalated=any(p.startswith("escalate@") for p in execution.path),
                fanned_out=any(p.startswith("fanout:merged") for p in execution.path),
            )

        return await _each(tickets, composition, call)


def _variant(composition: dict[str, Any], threshold: float) -> dict[str, Any]:
    """The composition with its escalation tiers moved to `threshold`."""
    variant: dict[str, Any] = json.loads(json.dumps(composition))
    variant["composition"] = f"support-desk@{threshold:g}"
    escalate = variant["flow"]["sequence"][0]["escalate"]
    fan, strong = escalate["tiers"]
    fan["below"] = max(0.0, round(threshold - FANOUT_GAP, 4))
    strong["below"] = threshold
    return variant


async def _specialists_vs_cheap(
    mesh: Mesh,
    tickets: Sequence[Ticket],
    departments: dict[str, list[str]],
    cheap: Sequence[Outcome],
) -> list[dict[str, Any]]:
    """Each department's specialist on that department's tickets, beside the all-intent cheap model."""
    rows = []
    for department in departments:
        mine = [(t, c) for t, c in zip(tickets, cheap, strict=True) if t.department == department]
        if not mine:
            continue
        outcomes = await run_single(
            mesh.endpoints[department], department, 0.0, [t for t, _ in mine]
        )
        rows.append(
            {
                "department": department,
                "n": len(mine),
                "specialist_accuracy": sum(o.predicted == o.truth for o in outcomes) / len(mine),
                "cheap_accuracy": sum(c.predicted == c.truth for _, c in mine) / len(mine),
            }
        )
    return rows


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


def measure(
    mesh: Mesh,
    tickets: Sequence[Ticket],
    departments: dict[str, list[str]],
    seed: int,
    sweep: bool = False,
) -> Report:
    """Send `tickets` through the cheap and strong stages alone and through the composition."""
    composition = yaml.safe_load(mesh.composition.read_text(encoding="utf-8"))
    name = composition["composition"]
    prices = {
        stage: float((spec.get("price") or {}).get("per_call_usd", 0.0))
        for stage, spec in composition["stages"].items()
    }
    cheap = asyncio.run(run_single(mesh.endpoints["cheap"], "cheap", prices["cheap"], tickets))
    strong = asyncio.run(run_single(mesh.endpoints["strong"], "strong", prices["strong"], tickets))
    slowest: list[router_pb2.Execution] = []
    composed = asyncio.run(run_composed(mesh.router_address, name, tickets, slowest))
    report = Report(
        dataset=DATASET,
        n_tickets=len(tickets),
        seed=seed,
        systems=[
            summarise("cheap", "single", cheap),
            summarise("strong", "single", strong),
            summarise(name, "composed", composed),
        ],
    )
    if slowest:
        report.slowest_request = budget_report(slowest[0])
    report.specialists = asyncio.run(_specialists_vs_cheap(mesh, tickets, departments, cheap))
    if sweep:
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for threshold in SWEEP:
                path = Path(tmp) / f"support-desk-{threshold:g}.yaml"
                path.write_text(yaml.safe_dump(_variant(composition, threshold)), encoding="utf-8")
                files.append(path)
            router = mesh.add_router(files)
            for threshold in SWEEP:
                variant = f"support-desk@{threshold:g}"
                outcomes = asyncio.run(run_composed(router, variant, tickets))
                report.sweep.append(summarise(variant, "composed", outcomes, threshold))
    return report
