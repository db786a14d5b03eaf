"""The LLM desk's drafts report: per-ticket outcomes, the drafter's figures, drafts.json.

The support desk's intent figures are `tutti eval`'s report (workbench.evaluation).
"""

from __future__ import annotations

from workbench.report._figures import Outcome, SystemResult, draft_figures, summarise
from workbench.report._files import write
from workbench.report._report import Report
from workbench.report._tables import drafts_summary

__all__ = [
    "Outcome",
    "Report",
    "SystemResult",
    "draft_figures",
    "drafts_summary",
    "summarise",
    "write",
]
