"""The benchmark's report: medians with their range per system, the ratio rows, the JSON record."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics

import grpc

from bench.runner import Counts, Run
from bench.topologies import DESCRIBE, PAYLOAD_BYTES

__all__ = ["METRICS", "RATIOS", "summary", "table", "to_json"]

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
    ("tutti+tracing-10%", "tutti", "tracing 10% on/off"),
    ("tutti+metrics", "tutti", "metrics on/off"),
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
