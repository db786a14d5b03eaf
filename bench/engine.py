"""The engine's own cost per flow node, in-process, with no network.

    python -m bench.engine [--requests N] [--repeats R]

A real Router is loaded from the bench compositions (bench/__main__.py), then
every stage is reached through a StageClient returning a prebuilt
response: what is left is Router.route and the Engine (input decode and
validation, node dispatch, spans, records, metrics, Execution). No gRPC
call, (de)serialization of the wire messages or network is in these figures.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import uvloop
from google.protobuf import any_pb2

from tutti.v1 import merger_pb2, payloads_pb2, router_pb2, stage_pb2

# Flow nodes one request runs through, counting each stage and merger call as one node.
NODES = {"route": 1, "fanout": 5, "sequence": 6}


class _Canned:
    """A StageClient answering every call with a prebuilt response, in this loop."""

    def __init__(self, topology: str) -> None:
        output = any_pb2.Any()
        output.Pack(payloads_pb2.Classification(label="echo", confidence=0.9, scores={"echo": 0.9}))
        self._classified = (
            stage_pb2.InvokeResponse(output=output, model=stage_pb2.ModelRef(name="c", version="1"))
            if topology == "fanout"
            else None
        )

    async def invoke(
        self, request: stage_pb2.InvokeRequest, timeout: float | None
    ) -> stage_pb2.InvokeResponse:
        if self._classified is not None:
            return self._classified
        return stage_pb2.InvokeResponse(
            output=request.input, model=stage_pb2.ModelRef(name="echo", version="1")
        )

    async def invoke_stream(
        self, request: stage_pb2.InvokeStreamRequest, timeout: float | None
    ) -> AsyncGenerator[stage_pb2.InvokeStreamResponse, None]:
        yield stage_pb2.InvokeStreamResponse(
            response=await self.invoke(stage_pb2.InvokeRequest(input=request.input), timeout)
        )

    async def merge(
        self, request: merger_pb2.MergeRequest, timeout: float | None
    ) -> merger_pb2.MergeResponse:
        first = request.candidates[0]
        return merger_pb2.MergeResponse(output=first.output, winners=[first.name])


async def load(topology: str, folder: Path, validate: bool) -> Any:
    from bench.topologies import composition_text
    from router_service import Router

    text = composition_text(topology)
    if validate:
        text = text.replace("validate: false", "validate: true")
    path = folder / f"{topology}-{validate}.yaml"
    path.write_text(text)
    # The seam this benchmark measures around: each stage's StageClient.
    canned = _Canned(topology)
    return await Router.load([path], describe=False, clients=lambda spec: canned)


async def per_request_us(router: Any, topology: str, requests: int, repeats: int) -> list[float]:
    packed = any_pb2.Any()
    packed.Pack(payloads_pb2.Text(text="x" * 1024))
    request = router_pb2.RouteRequest(composition=f"bench_{topology}", input=packed)
    for _ in range(200):
        await router.route(request, 30.0)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(requests):
            await router.route(request, 30.0)
        samples.append((time.perf_counter() - t0) / requests * 1e6)
    return samples


async def main_async(requests: int, repeats: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="tutti-engine-") as tmp:
        for topology, nodes in NODES.items():
            for validate in (False, True):
                router = await load(topology, Path(tmp), validate)
                try:
                    samples = await per_request_us(router, topology, requests, repeats)
                finally:
                    await router.close()
                median = statistics.median(samples)
                rows.append(
                    {
                        "topology": topology,
                        "validate": validate,
                        "nodes": nodes,
                        "us_per_request": median,
                        "us_per_node": median / nodes,
                        "min": min(samples),
                        "max": max(samples),
                    }
                )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| topology | validation | nodes | us/request (min-max) | us/node |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['topology']} | {'on' if r['validate'] else 'off'} | {r['nodes']} "
            f"| {r['us_per_request']:.1f} ({r['min']:.1f}-{r['max']:.1f}) "
            f"| {r['us_per_node']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    p.add_argument("--requests", type=int, default=2000, help="requests per repeat (2000)")
    p.add_argument("--repeats", type=int, default=5, help="repeats; the median is kept (5)")
    args = p.parse_args(argv)
    print(table(uvloop.run(main_async(args.requests, args.repeats))))


if __name__ == "__main__":
    main()
