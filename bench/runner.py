"""Running the benchmark: each system measured run by run, a topology's systems taking turns."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.load import latency, throughput
from bench.procfs import CLK_TCK, cpu_ticks, idle_share, rss_mb
from bench.systems import System, start

__all__ = ["Counts", "Run", "bench", "measure"]


@dataclass
class Counts:
    runs: int
    warmup: int
    latency: int
    throughput: int
    in_flight: int

    def for_system(self, name: str) -> Counts:
        """Ray is 5-10x slower per request: it gets 40 % of the requests, to keep a run short."""
        if name != "ray":
            return self
        return dataclasses.replace(
            self,
            warmup=max(5, self.warmup * 2 // 5),
            latency=max(20, self.latency * 2 // 5),
            throughput=max(self.in_flight, self.throughput * 2 // 5),
        )


@dataclass
class Run:
    p50_ms: float
    p99_ms: float
    rps: float
    cpu_us_per_req: float
    cpu_us_per_req_by_process: dict[str, float]
    rss_mb: float
    rss_mb_by_process: dict[str, float]
    idle_before: float


async def measure(system: System, counts: Counts, warn_below: float) -> Run:
    idle = idle_share()
    if idle < warn_below:
        print(
            f"  WARNING: the machine looks busy before this run ({idle:.0%} idle); "
            "figures may be noisy",
            flush=True,
        )
    pids = system.pids()
    before = {k: _ticks(p) for k, p in pids.items()}
    p50, p99 = await latency(system.call, counts.warmup, counts.latency)
    rps = await throughput(system.call, counts.throughput, counts.in_flight)
    after = {k: _ticks(p) for k, p in pids.items()}
    requests = counts.warmup + counts.latency + counts.throughput
    by_process = {k: (after[k] - before[k]) / CLK_TCK / requests * 1e6 for k in pids}
    rss = {k: _rss(p) for k, p in pids.items()}
    return Run(p50, p99, rps, sum(by_process.values()), by_process, sum(rss.values()), rss, idle)


def _ticks(pid: int) -> int:
    try:
        return cpu_ticks(pid)
    except OSError:  # a process that ended during the run counts for nothing
        return 0


def _rss(pid: int) -> float:
    try:
        return rss_mb(pid)
    except OSError:
        return 0.0


async def bench(
    counts: Counts, topologies: list[str], systems: list[str], warn_below: float
) -> dict[str, dict[str, list[Run]]]:
    """Per topology, the systems other than Ray run at once and take turns, run by run, so
    that a slow spell of the machine hits them all alike; Ray, whose own background
    processes would load the others, runs alone after them."""
    results: dict[str, dict[str, list[Run]]] = {}
    with tempfile.TemporaryDirectory(prefix="tutti-bench-") as tmp:
        for topology in topologies:
            results[topology] = {}
            groups = [[n for n in systems if n != "ray"], [n for n in systems if n == "ray"]]
            for group in (g for g in groups if g):
                await _take_turns(topology, group, counts, warn_below, Path(tmp), results)
    return results


async def _take_turns(
    topology: str,
    names: list[str],
    counts: Counts,
    warn_below: float,
    workdir: Path,
    results: dict[str, dict[str, list[Run]]],
) -> None:
    started: list[System] = []
    try:
        for name in names:
            print(f"{topology} / {name}: starting", flush=True)
            started.append(start(name, topology, workdir))
            await started[-1].call()  # fails fast if the system is broken
        for i in range(counts.runs):
            for system in started:
                run = await measure(system, counts.for_system(system.name), warn_below)
                print(
                    f"  {topology} / {system.name} run {i + 1}/{counts.runs}: p50 {run.p50_ms:.2f}"
                    f" ms, p99 {run.p99_ms:.2f} ms, {run.rps:.0f} req/s,"
                    f" {run.cpu_us_per_req:.0f} us CPU/req",
                    flush=True,
                )
                results[topology].setdefault(system.name, []).append(run)
    finally:
        for system in started:
            await system.channel.close()
            system.stop()
