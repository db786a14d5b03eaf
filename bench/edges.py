"""What careless or hostile clients and files cost a running router: memory, stalls, time.

    python -m bench.edges [--runs 3]

One router over one echo specialist (`tutti up`'s mesh, on 127.0.0.1), and:
- idle: 64 RouteStreams that send nothing, held open (the default --max-streams);
- non-reading: 40 clients that send 100 KB requests into RouteStream and never read;
- reload: requests from 4 concurrent clients while the composition file is replaced by
  nested aliases (refused) and then by a 6 MB valid file (compiled in a thread);
- check: `tutti check` of that 6 MB file.
Prints the median of `--runs` runs of each figure; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from grpc import aio

from bench.procfs import rss_mb
from tutti.messages import pack
from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc
from workbench.mesh import Mesh

COMPOSITION = """\
composition: edges
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  echo: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text, serve: {backend: python, factory: "bench.stages:echo"}}
flow: echo
"""
LAUGHS = ["flows:", "  f0: &f0 {sequence: [echo, echo, echo, echo, echo, echo, echo, echo]}"] + [
    f"  f{i}: &f{i} {{sequence: [{', '.join([f'*f{i - 1}'] * 8)}]}}" for i in range(1, 8)
]


def request(text: str) -> router_pb2.RouteRequest:
    return router_pb2.RouteRequest(composition="edges", input=pack(payloads_pb2.Text(text=text)))


def big_composition(megabytes: float) -> str:
    """A valid composition of about `megabytes` MB: many named flows, one of them used."""
    lines = COMPOSITION.replace("flow: echo\n", "").splitlines() + ["flows:"]
    size, i = sum(len(line) for line in lines), 0
    while size < megabytes * 1e6:
        line = f"  flow{i}: {{sequence: [echo, echo, echo, echo]}}  # {'x' * 40}"
        lines.append(line)
        size, i = size + len(line) + 1, i + 1
    return "\n".join(lines) + "\nflow: flow0\n"


async def idle_streams(address: str, pid: int, count: int = 64) -> dict[str, float]:
    async with aio.insecure_channel(address) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        await stub.Route(request("warm"), timeout=10)
        before = rss_mb(pid)
        never = asyncio.Event()

        async def nothing() -> AsyncIterator[router_pb2.RouteStreamRequest]:
            await never.wait()
            yield router_pb2.RouteStreamRequest()

        calls = [stub.RouteStream(nothing()) for _ in range(count)]
        waits = [asyncio.ensure_future(c.initial_metadata()) for c in calls]
        await asyncio.sleep(2)
        started = time.perf_counter()
        await stub.Route(request("during"), timeout=10)
        route_ms = (time.perf_counter() - started) * 1000
        held = rss_mb(pid)
        for call in calls:
            call.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return {"idle_before_mb": before, "idle_held_mb": held, "idle_route_ms": route_ms}


async def non_reading(address: str, pid: int, count: int = 40) -> dict[str, float]:
    channels = [aio.insecure_channel(address) for _ in range(count)]
    before = rss_mb(pid)

    async def requests(i: int) -> AsyncIterator[router_pb2.RouteStreamRequest]:
        for k in range(500):
            yield router_pb2.RouteStreamRequest(
                request_id=f"{i}-{k}", request=request("x" * 100_000)
            )

    calls = [
        router_pb2_grpc.RouterServiceStub(ch).RouteStream(requests(i))
        for i, ch in enumerate(channels)
    ]
    waits = [asyncio.ensure_future(c.initial_metadata()) for c in calls]
    peak = before
    for _ in range(10):
        await asyncio.sleep(1)
        peak = max(peak, rss_mb(pid))
    for call in calls:
        call.cancel()
    await asyncio.gather(*waits, return_exceptions=True)
    for channel in channels:
        await channel.close()
    await asyncio.sleep(15)  # past one heap trim (every 10 s)
    return {
        "nonreading_before_mb": before,
        "nonreading_peak_mb": peak,
        "nonreading_after_mb": rss_mb(pid),
    }


async def reload_stall(address: str, path: Path, replacement: str, label: str) -> dict[str, float]:
    """Longest Route latency while the router reloads `path` rewritten as `replacement`."""
    latencies: list[tuple[float, float]] = []
    stop = asyncio.Event()
    async with aio.insecure_channel(address) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)

        async def client() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                await stub.Route(request("r"), timeout=60)
                latencies.append((started, (time.perf_counter() - started) * 1000))

        clients = [asyncio.ensure_future(client()) for _ in range(4)]
        await asyncio.sleep(2)
        quiet = [ms for _, ms in latencies]
        original = path.read_text()
        path.write_text(replacement)
        await asyncio.sleep(8)  # the router looks every 2 s; a 6 MB file takes seconds to load
        path.write_text(original)
        await asyncio.sleep(4)
        stop.set()
        await asyncio.gather(*clients)
    during = [ms for _, ms in latencies[len(quiet) :]]
    return {f"{label}_quiet_max_ms": max(quiet), f"{label}_max_ms": max(during)}


def check_time(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "workbench", "check", str(path)], capture_output=True, check=False
    )
    return time.perf_counter() - started


async def one_run(workdir: Path) -> dict[str, float]:
    path = workdir / "composition.yaml"
    path.write_text(COMPOSITION)
    big = workdir / "big.yaml"
    big.write_text(big_composition(6.0))
    laughs = COMPOSITION.replace("flow: echo\n", "\n".join(LAUGHS) + "\nflow: f7\n")
    mesh = await asyncio.to_thread(Mesh.start, path)
    try:
        pid = next(c.process.pid for c in mesh.children if c.name == "router")
        figures = await idle_streams(mesh.router_address, pid)
        figures |= await non_reading(mesh.router_address, pid)
        figures |= await reload_stall(mesh.router_address, path, laughs, "laughs")
        figures |= await reload_stall(mesh.router_address, path, big.read_text(), "big")
    finally:
        await asyncio.to_thread(mesh.stop)
    figures["check_big_s"] = check_time(big)
    figures["big_mb"] = big.stat().st_size / 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            results.append(asyncio.run(one_run(Path(workdir))))
        print(
            f"run {run + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in results[-1].items()),
            flush=True,
        )
    print(f"\nmedian of {runs} runs:")
    for key in results[0]:
        print(f"  {key:<24} {statistics.median(r[key] for r in results):8.1f}")


if __name__ == "__main__":
    main()
