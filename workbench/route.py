"""`tutti route`: one request to a router, its output and execution printed as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import json_format
from grpc import aio

from tutti.errors import TuttiError
from tutti.messages import MessageTypes, pack
from tutti.v1 import router_pb2, router_pb2_grpc

__all__ = ["budget_report", "route"]


async def route(
    composition: str, input_json: str, router: str, timeout: float, budgets: bool = False
) -> int:
    """Send `input_json` to `composition` on `router`; print its output and execution."""
    name = composition
    if composition.endswith((".yaml", ".yml")) and Path(composition).is_file():
        from router_service import read_composition

        name = read_composition(composition).name
    async with aio.insecure_channel(router) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        try:
            listing = await stub.ListCompositions(
                router_pb2.ListCompositionsRequest(), timeout=timeout
            )
            info = next((c for c in listing.compositions if c.name == name), None)
            if info is None:
                served = ", ".join(c.name for c in listing.compositions) or "none"
                raise TuttiError(f"router {router} does not serve '{name}' (it serves: {served})")
            types = MessageTypes()
            types.learn(info.descriptors)
            message = types.message_class(info.input_type)()
            try:
                json_format.Parse(input_json, message)
            except json_format.ParseError as exc:
                raise TuttiError(f"--json is not a valid {info.input_type}: {exc}") from exc
            request = router_pb2.RouteRequest(composition=name, input=pack(message))
            response = await stub.Route(request, timeout=timeout)
        except aio.AioRpcError as exc:
            raise TuttiError(f"{exc.code().name}: {exc.details()}") from None
        output = types.unpack(response.output, info.output_type, "output")
        print(
            json.dumps(
                {
                    "output": json_format.MessageToDict(output),
                    "execution": json_format.MessageToDict(response.execution),
                },
                indent=2,
            )
        )
        if budgets:
            print(budget_report(response.execution))
    return 0


def budget_report(execution: router_pb2.Execution) -> str:
    """Each stage's latency budget against its elapsed time, the slowest stage, the ones over budget."""
    stages = list(execution.stages)
    lines = [
        f"latency budget report: {execution.composition}, {execution.latency_ms:.2f} ms in all"
    ]
    lines.append(f"  {'stage':<20} {'budget ms':>9} {'elapsed ms':>10}  status")
    for run in stages:
        budget = f"{run.budget_ms:g}" if run.budget_ms else "-"
        flag = "OVER BUDGET" if run.over_budget else ""
        status = type(run).Status.Name(run.status).removeprefix("STATUS_")
        lines.append(
            f"  {run.stage:<20} {budget:>9} {run.latency_ms:>10.2f}  {status} {flag}".rstrip()
        )
    timed = [run for run in stages if run.latency_ms]
    if timed:
        slowest = max(timed, key=lambda run: run.latency_ms)
        lines.append(f"  slowest stage: {slowest.stage} ({slowest.latency_ms:.2f} ms)")
    over = [run.stage for run in stages if run.over_budget]
    lines.append(f"  over budget: {', '.join(over) if over else 'none'}")
    return "\n".join(lines)
