"""`tutti demo`: train what is missing, start the desks, measure every system, write the report."""

from __future__ import annotations

from pathlib import Path

from workbench.demo._desk import DATASET, DESK, LLM_DESK, ensure_models, sample_tickets
from workbench.demo._measure import measure, measure_drafts
from workbench.mesh import Mesh
from workbench.report import Report, table, write

__all__ = ["demo", "run_demo"]


def run_demo(
    count: int | None,
    seed: int,
    sweep: bool = False,
    retrain: bool = False,
    desk: Path = DESK,
    per_label: int | None = None,
    drafts: bool = True,
    llm_desk: Path = LLM_DESK,
) -> Report:
    """Train what is missing, start the mesh, measure every system; return the report.

    With `drafts`, the tickets then go through `llm_desk` too (its own mesh, started
    once the support desk's has stopped), and the report gets the drafter's figures.
    """
    from specialist_service import training

    ensure_models(desk, retrain, per_label=per_label)
    departments = training.read_departments(desk / "departments.yaml")
    tickets = sample_tickets(count, seed, departments)
    print("starting the support desk's services ...", flush=True)
    with Mesh.start(desk / "composition.yaml") as mesh:
        print(
            f"router on {mesh.router_address}; {len(tickets)} {DATASET} test tickets (seed {seed})"
        )
        report = measure(mesh, tickets, departments, seed, sweep)
    if drafts:
        print("starting the LLM desk's services (the support desk plus an LLM drafter) ...")
        with Mesh.start(llm_desk) as mesh:
            measure_drafts(mesh, tickets, report)
    return report


def demo(
    tickets: int | None, seed: int, out: str, sweep: bool, retrain: bool, drafts: bool = True
) -> int:
    """The support desk, measured and reported into `out`: see run_demo."""
    report = run_demo(tickets, seed, sweep, retrain, drafts=drafts)
    print()
    print(table(report))
    for path in write(report, Path(out)):
        print(f"wrote {path}")
    return 0
