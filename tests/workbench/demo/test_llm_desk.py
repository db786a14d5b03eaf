"""examples/llm-desk on small models and the real SmolLM2: only handed-over tickets reach the
LLM, the rest keep their macro, and the report shows the drafter's share, cost and latency.
The drafts' text is not judged (a 135M model drafts them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from specialist_service import training
from tutti.v1 import router_pb2
from workbench.demo import LLM_DESK, measure_drafts, sample_tickets
from workbench.mesh import Mesh
from workbench.report import Report, drafts_summary

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def llm_desk(desks: Path) -> Path:
    folder = desks / "llm-desk"
    folder.mkdir(exist_ok=True)
    for path in LLM_DESK.parent.glob("*.*"):
        shutil.copy(path, folder / path.name)
    return folder / "composition.yaml"


def test_only_handed_over_tickets_get_an_llm_draft_and_the_report_shows_its_cost(
    llm_desk: Path, desks: Path
) -> None:
    departments = training.read_departments(desks / "support-desk" / "departments.yaml")
    tickets = sample_tickets(30, seed=3, departments=departments)
    report = Report(dataset="BANKING77", n_tickets=len(tickets), seed=3, systems=[])
    with Mesh.start(llm_desk) as mesh:
        executions = measure_drafts(mesh, tickets, report)
    assert len(executions) == len(tickets)  # every ticket answered
    drafted = failed = 0
    for execution in executions:
        stages = [s.stage for s in execution.stages]
        if any(p.startswith("route:handover=handed_over") for p in execution.path):
            draft = execution.stages[stages.index("drafter")]
            assert stages[stages.index("drafter") - 1] == "handover", stages
            if draft.status == router_pb2.StageRun.STATUS_OK:
                drafted += 1
                assert stages[-1] == "drafter" and draft.cost_usd > 0, stages
            else:  # the fallback: the macro's reply stands
                failed += 1
                assert stages[-1] == "macro_reply", stages
        else:
            assert "drafter" not in stages and stages[-1] == "macro_reply", stages
        assert execution.total_cost_usd == pytest.approx(sum(s.cost_usd for s in execution.stages))
    assert drafted, "the sample must hand at least one ticket over, or this proves little"
    assert drafted < len(tickets)

    (row,) = report.systems
    assert (row.name, row.kind, row.errors) == ("llm-desk", "drafts", 0)
    figures = report.drafts
    assert figures["tickets"] == len(tickets) and figures["requests_failed"] == 0
    assert figures["drafter_failed"] == failed
    assert figures["drafted"] == drafted
    assert figures["drafter_cost_usd"] > 0 and figures["drafter_p50_ms"] > 0
    summary = "\n".join(drafts_summary(report))
    assert f"{drafted} of {len(tickets)} tickets" in summary and "not scored" in summary
