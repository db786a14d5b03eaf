"""The benchmark at a tiny size, so that it cannot rot: every system starts, answers and is reported.

No figure is asserted against a limit: timings on a shared CI machine say nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_every_system_runs_the_route_topology_and_lands_in_the_report(tmp_path: Path) -> None:
    done = _run("-m", "bench", "--tiny", "--topology", "route", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (report,) = tmp_path.glob("*-tiny.json")
    data = json.loads(report.read_text())
    route = data["topologies"]["route"]
    for system in (
        "tutti",
        "tutti+validation",
        "tutti+tracing",
        "tutti+tracing-10%",
        "floor",
        "ray",
    ):
        (run,) = route[system]["runs"]
        assert run["rps"] > 0 and run["p50_ms"] > 0, system
        assert run["cpu_us_per_req_by_process"], system
        assert all(mb > 0 for mb in run["rss_mb_by_process"].values()), system
    assert set(route["ratio_tutti_over_floor"]) >= {"p50_ms", "rps", "cpu_us_per_req"}
    assert "ratio_tutti_over_ray" in route
    markdown = report.with_suffix(".md").read_text()
    assert "| client -> router -> 1 stage | **Tutti/Ray** |" in markdown


def test_engine_benchmark_reports_every_topology_with_validation_on_and_off() -> None:
    done = _run("-m", "bench.engine", "--requests", "20", "--repeats", "1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [
        line for line in done.stdout.splitlines() if line.startswith("| ") and "us/" not in line
    ]
    assert [(r.split("|")[1].strip(), r.split("|")[2].strip()) for r in rows] == [
        (topology, validation)
        for topology in ("route", "fanout", "sequence")
        for validation in ("off", "on")
    ]


def test_llm_overhead_benchmark_reports_every_path(tmp_path: Path) -> None:
    done = _run(
        "-m", "bench.llm", "--requests", "2", "--runs", "1", "--max-tokens", "2", "--out",
        str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (report,) = tmp_path.glob("*-llm.json")
    data = json.loads(report.read_text())
    assert set(data["p50_ms"]) == {"direct", "specialist", "router"}
    assert all(ms > 0 for ms in data["p50_ms"].values())
    assert "client -> router -> specialist -> llama.cpp" in report.with_suffix(".md").read_text()
