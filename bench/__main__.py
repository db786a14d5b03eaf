"""`python -m bench`: Tutti's own overhead next to a hand-written gRPC floor (issue 8).

Three topologies with trivial python stages, each served once by a Tutti mesh
and once by the floor (bench/floor.py), measured by bench/load.py from this
process. See bench/README.md for what every figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import uvloop

from bench import floor
from bench.load import latency, throughput

HERE = Path(__file__).resolve().parent
PAYLOAD_BYTES = 1024
TOPOLOGIES = ("route", "fanout", "sequence")
DESCRIBE = {
    "route": "client -> router -> 1 stage",
    "fanout": "fan-out 3 + merge (first_valid)",
    "sequence": "sequence of 5 stages",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")

_STAGE = '{{endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: {out}, validate: false, serve: {{backend: python, factory: "stages:{factory}"}}}}'
_HEAD = """composition: bench_{name}
input: tutti.v1.Text
output: {out}
budget: {{latency_ms: 30000, cost_usd: 1000.0}}
stages:
"""


def composition_text(name: str) -> str:
    if name == "route":
        text = _HEAD.format(name=name, out="tutti.v1.Text")
        text += "  echo: " + _STAGE.format(out="tutti.v1.Text", factory="echo") + "\n"
        return text + "flow: echo\n"
    if name == "fanout":
        text = _HEAD.format(name=name, out="tutti.v1.Classification")
        for i in (1, 2, 3):
            text += (
                f"  c{i}: "
                + _STAGE.format(out="tutti.v1.Classification", factory="classify")
                + "\n"
            )
        text += '  merger: {endpoint: "127.0.0.1:1", kind: merger}\n'
        return text + (
            "flow:\n  fanout:\n    branches: [c1, c2, c3]\n"
            "    merge: {by: merger, strategy: first_valid}\n"
        )
    if name == "sequence":
        text = _HEAD.format(name=name, out="tutti.v1.Text")
        for i in range(1, 6):
            text += f"  s{i}: " + _STAGE.format(out="tutti.v1.Text", factory="echo") + "\n"
        return text + "flow:\n  sequence: [s1, s2, s3, s4, s5]\n"
    raise ValueError(name)


# --- /proc readings -----------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return idle, sum(values)


def idle_share(window_s: float = 0.5) -> float:
    idle0, total0 = _cpu_times()
    time.sleep(window_s)
    idle1, total1 = _cpu_times()
    return (idle1 - idle0) / max(1, total1 - total0)


# --- the two systems under test ------------------------------------------------------


@dataclass
class System:
    name: str
    call: Callable[[], Awaitable[object]]
    pids: dict[str, int]
    stop: Callable[[], None]
    channel: grpc.aio.Channel


def text_payload() -> bytes:
    from tutti.v1 import payloads_pb2

    return payloads_pb2.Text(text="x" * PAYLOAD_BYTES).SerializeToString()


def start_tutti(topology: str, workdir: Path) -> System:
    from google.protobuf import any_pb2

    from tutti.mesh import Mesh
    from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc

    folder = workdir / topology
    folder.mkdir()
    shutil.copy(HERE / "stages.py", folder / "stages.py")
    path = folder / "composition.yaml"
    path.write_text(composition_text(topology))
    mesh = Mesh.start(path, env={"OTEL_SDK_DISABLED": "true"})
    packed = any_pb2.Any()
    packed.Pack(payloads_pb2.Text(text="x" * PAYLOAD_BYTES))
    request = router_pb2.RouteRequest(composition=f"bench_{topology}", input=packed)
    channel = grpc.aio.insecure_channel(mesh.router_address)
    stub = router_pb2_grpc.RouterServiceStub(channel)

    def call() -> Awaitable[object]:
        return stub.Route(request, timeout=30)

    pids = {c.name: c.process.pid for c in mesh.children}
    return System("tutti", call, pids, mesh.stop, channel)


def _spawn_floor(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.floor", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(floor.READY):
        proc.kill()
        raise RuntimeError(f"floor {args} did not start: {line!r}")
    return proc, f"127.0.0.1:{int(line[len(floor.READY) :])}"


def start_floor(topology: str) -> System:
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        n = {"route": 1, "fanout": 3, "sequence": 5}[topology]
        addresses = []
        for i in range(n):
            procs[f"stage{i + 1}"], address = _spawn_floor(["stage"])
            addresses.append(address)
        argv = ["router", "--mode", topology, "--next", ",".join(addresses)]
        if topology == "fanout":
            procs["merge"], merge_address = _spawn_floor(["merge"])
            argv += ["--merge", merge_address]
        procs["router"], router_address = _spawn_floor(argv)
    except BaseException:
        _stop_procs(procs)
        raise

    channel = grpc.aio.insecure_channel(router_address)
    method = channel.unary_unary(
        floor.METHOD, request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    payload = text_payload()

    def call() -> Awaitable[object]:
        return method(payload, timeout=30)

    return System(
        "floor", call, {k: p.pid for k, p in procs.items()}, lambda: _stop_procs(procs), channel
    )


def _stop_procs(procs: dict[str, subprocess.Popen[str]]) -> None:
    order = sorted(procs, key=lambda k: k != "router")  # the router first
    for name in order:
        procs[name].terminate()
    for name in order:
        try:
            procs[name].wait(timeout=5)
        except subprocess.TimeoutExpired:
            procs[name].kill()
            procs[name].wait()
        if procs[name].stdout is not None:
            procs[name].stdout.close()


# --- measuring ------------------------------------------------------------------------


@dataclass
class Counts:
    runs: int
    warmup: int
    latency: int
    throughput: int
    in_flight: int


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
    before = {k: cpu_ticks(p) for k, p in system.pids.items()}
    p50, p99 = await latency(system.call, counts.warmup, counts.latency)
    rps = await throughput(system.call, counts.throughput, counts.in_flight)
    after = {k: cpu_ticks(p) for k, p in system.pids.items()}
    requests = counts.warmup + counts.latency + counts.throughput
    by_process = {k: (after[k] - before[k]) / CLK_TCK / requests * 1e6 for k in system.pids}
    rss = {k: rss_mb(p) for k, p in system.pids.items()}
    return Run(p50, p99, rps, sum(by_process.values()), by_process, sum(rss.values()), rss, idle)


async def bench(
    counts: Counts, topologies: list[str], warn_below: float
) -> dict[str, dict[str, list[Run]]]:
    results: dict[str, dict[str, list[Run]]] = {}
    with tempfile.TemporaryDirectory(prefix="tutti-bench-") as tmp:
        for topology in topologies:
            results[topology] = {}
            for name in ("tutti", "floor"):
                print(f"{topology} / {name}: starting", flush=True)
                system = (
                    start_tutti(topology, Path(tmp)) if name == "tutti" else start_floor(topology)
                )
                try:
                    await system.call()  # fails fast if the system is broken
                    runs = []
                    for i in range(counts.runs):
                        run = await measure(system, counts, warn_below)
                        print(
                            f"  run {i + 1}/{counts.runs}: p50 {run.p50_ms:.2f} ms, "
                            f"p99 {run.p99_ms:.2f} ms, {run.rps:.0f} req/s, "
                            f"{run.cpu_us_per_req:.0f} us CPU/req",
                            flush=True,
                        )
                        runs.append(run)
                    results[topology][name] = runs
                finally:
                    await system.channel.close()
                    system.stop()
    return results


# --- reporting ------------------------------------------------------------------------

METRICS = (
    ("p50_ms", "p50 ms (1 in flight)", "{:.2f}"),
    ("p99_ms", "p99 ms (1 in flight)", "{:.2f}"),
    ("rps", "req/s ({n} in flight)", "{:.0f}"),
    ("cpu_us_per_req", "server CPU us/req", "{:.0f}"),
    ("rss_mb", "server RSS MB", "{:.0f}"),
)


def summary(runs: list[Run], key: str) -> dict[str, float]:
    values = [getattr(r, key) for r in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def table(results: dict[str, dict[str, list[Run]]], counts: Counts) -> str:
    header = ["topology", "system"] + [m[1].format(n=counts.in_flight) for m in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * len(METRICS)]
    for topology, systems in results.items():
        medians: dict[str, dict[str, float]] = {}
        for name, runs in systems.items():
            cells = []
            medians[name] = {}
            for key, _, fmt in METRICS:
                s = summary(runs, key)
                medians[name][key] = s["median"]
                cell = fmt.format(s["median"])
                if len(runs) > 1:
                    cell += f" ({fmt.format(s['min'])}-{fmt.format(s['max'])})"
                cells.append(cell)
            lines.append(f"| {DESCRIBE[topology]} | {name} | " + " | ".join(cells) + " |")
        if "tutti" in medians and "floor" in medians:
            ratios = [
                f"{medians['tutti'][k] / medians['floor'][k]:.2f}x" if medians["floor"][k] else "-"
                for k, _, _ in METRICS
            ]
            lines.append(f"| {DESCRIBE[topology]} | **Tutti/floor** | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


def to_json(results: dict[str, dict[str, list[Run]]], counts: Counts, quick: bool) -> dict:
    out: dict = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "quick": quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "grpcio": grpc.__version__,
        },
        "payload_bytes": PAYLOAD_BYTES,
        "counts": counts.__dict__,
        "topologies": {},
    }
    for topology, systems in results.items():
        entry: dict = {"description": DESCRIBE[topology]}
        for name, runs in systems.items():
            entry[name] = {
                "summary": {k: summary(runs, k) for k, _, _ in METRICS},
                "runs": [r.__dict__ for r in runs],
            }
        if "tutti" in systems and "floor" in systems:
            entry["ratio_tutti_over_floor"] = {
                k: entry["tutti"]["summary"][k]["median"] / entry["floor"]["summary"][k]["median"]
                for k, _, _ in METRICS
                if entry["floor"]["summary"][k]["median"]
            }
        out["topologies"][topology] = entry
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="1 run with fewer requests: a smoke test")
    p.add_argument(
        "--runs", type=int, help="runs per system and topology (default 3; 1 with --quick)"
    )
    p.add_argument(
        "--latency-requests", type=int, help="requests at 1 in flight (default 1000; 300 quick)"
    )
    p.add_argument(
        "--throughput-requests",
        type=int,
        help="requests at 64 in flight (default 3000; 1000 quick)",
    )
    p.add_argument(
        "--topology", action="append", choices=TOPOLOGIES, help="only these (repeatable)"
    )
    p.add_argument("--out", type=Path, default=HERE / "results", help="folder for <date>.json")
    p.add_argument(
        "--busy-below",
        type=float,
        default=0.8,
        help="warn when the machine's idle share before a run is under this (default 0.8)",
    )
    args = p.parse_args(argv)
    if args.quick:
        counts = Counts(runs=1, warmup=50, latency=300, throughput=1000, in_flight=64)
    else:
        # Sized to keep a full run near 5 minutes on 2 cores (the 5-stage sequence dominates).
        counts = Counts(runs=3, warmup=200, latency=1000, throughput=3000, in_flight=64)
    if args.runs:
        counts.runs = args.runs
    if args.latency_requests:
        counts.latency = args.latency_requests
    if args.throughput_requests:
        counts.throughput = args.throughput_requests
    topologies = args.topology or list(TOPOLOGIES)

    started = time.monotonic()
    results = uvloop.run(bench(counts, topologies, args.busy_below))
    markdown = table(results, counts)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.date.today().isoformat() + ("-quick" if args.quick else "")
    path = args.out / f"{stamp}.json"
    data = to_json(results, counts, args.quick)
    data["elapsed_s"] = round(time.monotonic() - started, 1)
    data["markdown"] = markdown
    path.write_text(json.dumps(data, indent=2) + "\n")
    print()
    print(markdown)
    print(f"\nwrote {path} ({data['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
