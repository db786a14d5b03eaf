"""`python -m bench`: what the Tutti mesh itself costs, side by side with a gRPC floor and Ray Serve.

Three topologies with trivial stages (route, fan-out of 3 + merge, sequence
of 5), each served by: Tutti (tracing and validation off), Tutti with
output validation on, Tutti with tracing exported over OTLP (every request,
and one in ten sampled by the standard OTEL_TRACES_SAMPLER), the floor (a
hand-written grpc.aio chain, bench/floor.py) and Ray Serve behind its gRPC
ingress (bench/ray_serve.py, needs the `bench` extra). One load generator
(bench/load.py) in this process measures them all. See bench/README.md for
what every figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import uvloop

from bench.report import table, to_json
from bench.runner import Counts, bench
from bench.systems import SYSTEMS, ray_available
from bench.topologies import TOPOLOGIES, composition_text

# composition_text stays importable from here for bench.engine, which builds the same topologies.
__all__ = ["composition_text", "main"]

HERE = Path(__file__).resolve().parent


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
