"""The demo's report: per-ticket outcomes, per-system figures, and the report written from them."""

from __future__ import annotations

from workbench.report._figures import Outcome, SystemResult, draft_figures, summarise
from workbench.report._report import Report

__all__ = ["Outcome", "Report", "SystemResult", "draft_figures", "summarise"]
