"""`tutti demo`: train what is missing, tune the support desk on dev, eval it on test tickets.

The thresholds are chosen by `tutti tune` on BANKING77's dev split for a cost target and
the tuned desk is measured by `tutti eval` against the cheap and the strong model alone on
the test tickets: the demo has no intent measuring of its own. The LLM desk's drafts,
which eval does not measure, follow.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tutti.errors import TuttiError
from workbench.demo._desk import (
    DATASET,
    DESK,
    LLM_DESK,
    dev_tickets,
    ensure_models,
    sample_tickets,
    write_tickets,
)
from workbench.demo._measure import measure_drafts
from workbench.evaluation import DataOptions, Evaluation, evaluated, table
from workbench.mesh import Mesh
from workbench.report import Report, drafts_summary, write
from workbench.tune import TuneTarget, Tuning, frontier_lines, knob_lines, tuned

__all__ = ["TUNED", "DemoRun", "demo", "run_demo", "tuned_summary"]

# The tuned composition is written beside the original, so that its relative model paths
# and its `desk:` factories resolve as the original's do (git-ignored).
TUNED = "tuned.yaml"
BASELINES = ("cheap", "strong")
LABEL = DataOptions(label_path="triage.intent.label")


@dataclass(frozen=True)
class DemoRun:
    tuning: Tuning
    tuned: Path  # the tuned composition
    evaluation: Evaluation
    written: list[Path]  # eval's report, tune's results, the tickets, drafts.json
    drafts: Report | None


def run_demo(
    count: int | None,
    seed: int,
    out: Path,
    retrain: bool = False,
    desk: Path = DESK,
    per_label: int | None = None,
    drafts: bool = True,
    llm_desk: Path = LLM_DESK,
    max_cost_share: float = 0.2,
    dev_rows: int | None = None,
) -> DemoRun:
    """Train what is missing, tune on dev (`dev_rows` of it, all by default), eval the tuned
    desk on `count` test tickets (all when None); everything is written into `out`.

    With `drafts`, the tickets then go through `llm_desk` too (its own mesh), and
    drafts.json gets the drafter's figures.
    """
    from specialist_service import training

    ensure_models(desk, retrain, per_label=per_label)
    departments = training.read_departments(desk / "departments.yaml")
    tickets = sample_tickets(count, seed, departments)
    dev = write_tickets(dev_tickets(dev_rows, seed), out / "dev.tsv")
    test = write_tickets(tickets, out / "test.tsv")
    print(f"tuning {desk / 'composition.yaml'} on {dev} for {max_cost_share:.0%} of strong's cost")
    tuning, tuned_file = tuned(
        desk / "composition.yaml",
        dev,
        LABEL,
        TuneTarget(max_cost_share=max_cost_share),
        write_to=desk / TUNED,
        out=out,
    )
    if tuned_file is None:
        raise TuttiError(f"tune: no setting meets the target ({tuning.target.describe()})")
    print(f"evaluating {tuned_file} on {len(tickets)} {DATASET} test tickets (seed {seed})")
    evaluation, written = evaluated(tuned_file, test, LABEL, BASELINES, out)
    written += [out / "tune.json", out / "frontier.png", dev, test]
    report = None
    if drafts:
        print("starting the LLM desk's services (the support desk plus an LLM drafter) ...")
        report = Report(dataset=DATASET, n_tickets=len(tickets), seed=seed, systems=[])
        with Mesh.start(llm_desk) as mesh:
            measure_drafts(mesh, tickets, report)
        written.append(write(report, out))
    return DemoRun(tuning, tuned_file, evaluation, written, report)


def tuned_summary(tuning: Tuning, sweep: bool = False) -> str:
    """The thresholds tune chose and their figures on dev (with `sweep`, its frontier too)."""
    lines = [f"tuned on dev ({tuning.target.describe()}):"]
    # Tune also measures each specialist alone; on all the tickets that says little.
    for b in (b for b in tuning.baselines if b.name in BASELINES):
        lines.append(f"  {b.name + ' alone':<28} {b.accuracy:.3f}  ${b.cost_per_item_usd:.5f}/item")
    if tuning.chosen is not None:
        c = tuning.chosen
        lines.append(f"  {'tuned desk':<28} {c.accuracy:.3f}  ${c.cost_per_item_usd:.5f}/item")
        lines += knob_lines(tuning)
    if sweep:
        lines.append("the frontier on dev (cost per item, accuracy, thresholds):")
        lines += frontier_lines(tuning)
    return "\n".join(lines)


def demo(
    tickets: int | None,
    seed: int,
    out: str,
    sweep: bool,
    retrain: bool,
    drafts: bool = True,
    max_cost_share: float = 0.2,
) -> int:
    """The support desk, tuned, measured and reported into `out`: see run_demo."""
    run = run_demo(tickets, seed, Path(out), retrain, drafts=drafts, max_cost_share=max_cost_share)
    print()
    print(tuned_summary(run.tuning, sweep))
    print()
    print(f"the tuned desk ({run.tuned}) on the test tickets:")
    print(table(run.evaluation.report))
    if run.drafts is not None:
        print()
        print("\n".join(drafts_summary(run.drafts)))
    for path in run.written:
        print(f"wrote {path}")
    failed = sum(s.errors for s in run.evaluation.report.systems)
    if failed:  # counted as wrong in the table, as `tutti eval --allow-errors` does
        print(f"tutti demo: {failed} requests failed (see {out}/outcomes.jsonl)", file=sys.stderr)
    return 0
