"""The demo's report: per-ticket outcomes, per-system figures, and the report written from them."""

from __future__ import annotations

from workbench.report._chart import plot
from workbench.report._figures import Outcome, SystemResult, draft_figures, summarise
from workbench.report._files import write
from workbench.report._report import Report
from workbench.report._tables import drafts_summary, markdown, table

__all__ = [
    "Outcome",
    "Report",
    "SystemResult",
    "draft_figures",
    "drafts_summary",
    "markdown",
    "plot",
    "summarise",
    "table",
    "write",
]
