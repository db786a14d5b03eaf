"""The `tutti eval` command end to end: check, serve, measure, report, exit code."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.evaluation._command import (
    DataOptions,
    Evaluation,
    evaluate,
    outcomes_json,
    read_inputs,
    remote,
    served,
)
from workbench.evaluation._report import table, write_report

__all__ = ["evaluated", "run_eval"]


def evaluated(
    composition: str | Path,
    data: str | Path,
    options: DataOptions,
    against: Sequence[str] = (),
    out: str | Path | None = None,
    concurrency: int = 4,
    router: str | None = None,
) -> tuple[Evaluation, list[Path]]:
    """The evaluation, with its report and outcomes.jsonl written into `out`; the paths written.

    The services are started here, unless `router` names one already running.
    """
    draft, dataset, label, types = read_inputs(composition, data, options)
    print(
        f"{len(dataset.items)} items from {data}, {len(dataset.labels)} labels; "
        f"comparing the output's {label.path} with the file's label",
        file=sys.stderr,
    )

    async def measure() -> Evaluation:
        if router:
            systems = await remote(router, draft, types, label, against)
            print(f"systems on {router}: {', '.join(s.name for s in systems)}", file=sys.stderr)
            return await evaluate(draft, dataset, label, types, systems, router, concurrency)
        async with served(draft, types, label, against) as mesh:
            print(f"systems: {', '.join(s.name for s in mesh.systems)}", file=sys.stderr)
            return await evaluate(
                draft, dataset, label, types, mesh.systems, mesh.address, concurrency
            )

    evaluation = asyncio.run(measure())
    folder = Path(out or f"eval-{draft.name}")
    written = write_report(evaluation.report, folder)
    (folder / "outcomes.jsonl").write_text(outcomes_json(evaluation), encoding="utf-8")
    return evaluation, [*written, folder / "outcomes.jsonl"]


def run_eval(
    composition: str,
    data: str,
    options: DataOptions,
    against: Sequence[str] = (),
    out: str | None = None,
    concurrency: int = 4,
    allow_errors: bool = False,
    router: str | None = None,
) -> int:
    """0 when every request was answered (or errors are allowed), 1 otherwise."""
    evaluation, written = evaluated(composition, data, options, against, out, concurrency, router)
    print(table(evaluation.report))
    *report, outcomes = written
    print(f"\nwrote {', '.join(str(p) for p in report)} and {outcomes}")
    failed = sum(s.errors for s in evaluation.report.systems)
    if failed and not allow_errors:
        print(
            f"tutti eval: {failed} requests failed (see outcomes.jsonl); "
            "--allow-errors counts them as wrong and exits 0",
            file=sys.stderr,
        )
        return 1
    return 0
