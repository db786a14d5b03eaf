"""`python -m bench`: what the Tutti mesh itself costs, side by side with a gRPC floor and Ray Serve.

Three topologies with trivial stages (route, fan-out of 3 + merge, sequence
of 5), each served by: Tutti (tracing and validation off), Tutti with
output validation on, Tutti with tracing exported over OTLP, the floor (a
hand-written grpc.aio chain, bench/floor.py) and Ray Serve behind its gRPC
ingress (bench/ray_serve.py, needs the `bench` extra). One load generator
(bench/load.py) in this process measures them all. See bench/README.md for
what every figure means.
"""

from __future__ import annotations

import argparse
import dataclasses
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
SYSTEMS = ("tutti", "tutti+validation", "tutti+tracing", "floor", "ray")

_STAGE = '{{endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: {out}, validate: false, serve: {{backend: python, factory: "stages:{factory}"}}}}'
_HEAD = """composition: bench_{name}
input: tutti.v1.Text
output: {out}
budget: {{latency_ms: 30000, cost_usd: 1000.0}}
stages:
"""


def composition_text(name: str, validate: bool = False) -> str:
    text = _composition_text(name)
    return text.replace("validate: false", "validate: true") if validate else text


def _composition_text(name: str) -> str:
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


def descendants(root: int) -> list[int]:
    """`root` and every process below it (Ray starts its raylet, GCS and workers under the driver)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


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
    pids: Callable[[], dict[str, int]]  # read before and after each run: Ray's tree may change
    stop: Callable[[], None]
    channel: grpc.aio.Channel


def text_payload() -> bytes:
    from tutti.v1 import payloads_pb2

    return payloads_pb2.Text(text="x" * PAYLOAD_BYTES).SerializeToString()


def start_tutti(topology: str, workdir: Path, variant: str) -> System:
    """A Tutti mesh; `variant` is "tutti", "tutti+validation" or "tutti+tracing"."""
    from google.protobuf import any_pb2

    from tutti.mesh import Mesh
    from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc

    folder = workdir / f"{topology}-{variant}"
    folder.mkdir()
    shutil.copy(HERE / "stages.py", folder / "stages.py")
    path = folder / "composition.yaml"
    path.write_text(composition_text(topology, validate=variant == "tutti+validation"))
    sink = None
    env = {"OTEL_SDK_DISABLED": "true"}
    if variant == "tutti+tracing":
        # Every service exports its spans (and metrics) to a sink process that drops them.
        sink, sink_address = _spawn_floor(["sink"])
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{sink_address}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }
    try:
        mesh = Mesh.start(path, env=env)
    except BaseException:
        if sink is not None:
            _stop_procs({"sink": sink})
        raise
    packed = any_pb2.Any()
    packed.Pack(payloads_pb2.Text(text="x" * PAYLOAD_BYTES))
    request = router_pb2.RouteRequest(composition=f"bench_{topology}", input=packed)
    channel = grpc.aio.insecure_channel(mesh.router_address)
    stub = router_pb2_grpc.RouterServiceStub(channel)

    def call() -> Awaitable[object]:
        return stub.Route(request, timeout=30)

    pids = {c.name: c.process.pid for c in mesh.children}

    def stop() -> None:
        mesh.stop()
        if sink is not None:
            _stop_procs({"sink": sink})

    return System(variant, call, lambda: pids, stop, channel)


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

    pids = {k: p.pid for k, p in procs.items()}
    return System("floor", call, lambda: pids, lambda: _stop_procs(procs), channel)


def ray_available() -> bool:
    try:
        import ray.serve  # noqa: F401
    except ImportError:
        return False
    return True


def start_ray(topology: str) -> System:
    from google.protobuf import any_pb2

    from bench import ray_serve
    from tutti.v1 import payloads_pb2, stage_pb2, stage_pb2_grpc

    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ray_serve", topology],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=HERE.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(ray_serve.READY):
        _stop_ray(proc)
        raise RuntimeError(f"Ray Serve ({topology}) did not start: {line!r}")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{int(line[len(ray_serve.READY) :])}")
    stub = stage_pb2_grpc.StageServiceStub(channel)
    packed = any_pb2.Any()
    packed.Pack(payloads_pb2.Text(text="x" * PAYLOAD_BYTES))
    request = stage_pb2.InvokeRequest(input=packed)

    def call() -> Awaitable[object]:
        return stub.Invoke(request, metadata=ray_serve.METADATA, timeout=30)

    def pids() -> dict[str, int]:
        # The driver, raylet, GCS, Serve controller, proxy and one worker per replica.
        return {f"ray:{pid}": pid for pid in descendants(proc.pid)}

    return System("ray", call, pids, lambda: _stop_ray(proc), channel)


def _stop_ray(proc: subprocess.Popen[str]) -> None:
    tree = descendants(proc.pid)
    if proc.stdin is not None:
        proc.stdin.close()  # the driver shuts Serve and Ray down
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    for pid in tree:  # whatever Ray left behind
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


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


def start(name: str, topology: str, workdir: Path) -> System:
    if name.startswith("tutti"):
        return start_tutti(topology, workdir, name)
    if name == "ray":
        return start_ray(topology)
    return start_floor(topology)


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


# --- reporting ------------------------------------------------------------------------

METRICS = (
    ("p50_ms", "p50 ms (1 in flight)", "{:.2f}"),
    ("p99_ms", "p99 ms (1 in flight)", "{:.2f}"),
    ("rps", "req/s ({n} in flight)", "{:.0f}"),
    ("cpu_us_per_req", "server CPU us/req", "{:.0f}"),
    ("rss_mb", "server RSS MB", "{:.0f}"),
)


# (numerator, denominator, row label): Tutti against the others, and what each option costs.
RATIOS = (
    ("tutti", "floor", "Tutti/floor"),
    ("tutti", "ray", "Tutti/Ray"),
    ("tutti+validation", "tutti", "validation on/off"),
    ("tutti+tracing", "tutti", "tracing on/off"),
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
        for top, bottom, label in RATIOS:
            if top in medians and bottom in medians:
                ratios = [
                    f"{medians[top][k] / medians[bottom][k]:.2f}x" if medians[bottom][k] else "-"
                    for k, _, _ in METRICS
                ]
                lines.append(f"| {DESCRIBE[topology]} | **{label}** | " + " | ".join(ratios) + " |")
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
        for top, bottom, _ in RATIOS:
            if top in systems and bottom in systems:
                entry[f"ratio_{top}_over_{bottom}"] = {
                    k: entry[top]["summary"][k]["median"] / entry[bottom]["summary"][k]["median"]
                    for k, _, _ in METRICS
                    if entry[bottom]["summary"][k]["median"]
                }
        out["topologies"][topology] = entry
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python -m bench                       # everything, 3 runs each (about 8 min)\n"
        "  python -m bench --quick               # 1 run, fewer requests\n"
        "  python -m bench --system tutti --system floor --topology route\n"
        "  python -m bench --tiny --out /tmp/b   # the CI smoke run: proves it works, times nothing",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="1 run with fewer requests")
    size.add_argument(
        "--tiny", action="store_true", help="a few requests per system: a smoke test, not a figure"
    )
    p.add_argument("--runs", type=int, help="runs per system and topology (default 3)")
    p.add_argument(
        "--latency-requests",
        type=int,
        help="requests at 1 in flight (default 400; 200 quick; Ray gets 40%%)",
    )
    p.add_argument(
        "--throughput-requests",
        type=int,
        help="requests at 64 in flight (default 1500; 1000 quick; Ray gets 40%%)",
    )
    p.add_argument(
        "--topology", action="append", choices=TOPOLOGIES, help="only these (repeatable)"
    )
    p.add_argument(
        "--system",
        action="append",
        choices=SYSTEMS,
        help="only these (repeatable; default all, ray when the `bench` extra is installed)",
    )
    p.add_argument(
        "--out", type=Path, default=HERE / "results", help="folder for <date>.json and .md"
    )
    p.add_argument(
        "--busy-below",
        type=float,
        default=0.8,
        help="warn when the machine's idle share before a run is under this (default 0.8)",
    )
    args = p.parse_args(argv)
    if args.tiny:
        counts = Counts(runs=1, warmup=5, latency=20, throughput=64, in_flight=8)
    elif args.quick:
        counts = Counts(runs=1, warmup=50, latency=200, throughput=1000, in_flight=64)
    else:
        # Sized to keep a full run, Ray included, under 10 minutes on 2 cores.
        counts = Counts(runs=3, warmup=100, latency=400, throughput=1500, in_flight=64)
    if args.runs:
        counts.runs = args.runs
    if args.latency_requests:
        counts.latency = args.latency_requests
    if args.throughput_requests:
        counts.throughput = args.throughput_requests
    topologies = args.topology or list(TOPOLOGIES)
    systems = args.system or [s for s in SYSTEMS if s != "ray" or ray_available()]
    if "ray" in systems and not ray_available():
        p.error("ray is not installed: pip install -e '.[bench]'")
    if "ray" not in systems and not args.system:
        print("note: Ray Serve is left out (not installed): pip install -e '.[bench]'")

    started = time.monotonic()
    results = uvloop.run(bench(counts, topologies, systems, args.busy_below))
    markdown = table(results, counts)
    args.out.mkdir(parents=True, exist_ok=True)
    size_name = "-tiny" if args.tiny else "-quick" if args.quick else ""
    stamp = dt.date.today().isoformat() + size_name
    path = args.out / f"{stamp}.json"
    data = to_json(results, counts, args.quick or args.tiny)
    data["elapsed_s"] = round(time.monotonic() - started, 1)
    data["markdown"] = markdown
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.with_suffix(".md").write_text(
        f"# Tutti benchmark, {stamp}\n\n{markdown}\n\nSee bench/README.md for what each"
        f" figure means. {data['elapsed_s']:.0f} s.\n"
    )
    if not size_name:
        # A full run is the one the main README links.
        (args.out / "LATEST.md").write_text(path.with_suffix(".md").read_text())
    print()
    print(markdown)
    print(f"\nwrote {path} and {path.with_suffix('.md').name} ({data['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
