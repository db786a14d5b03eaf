"""The drafts report in words: three lines for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.report._report import Report

__all__ = ["drafts_summary"]


def drafts_summary(report: Report) -> list[str]:
    """The LLM desk's drafter in three lines (empty when the demo skipped it)."""
    d = report.drafts
    if not d:
        return []
    return [
        (
            f"LLM drafts: {d['drafted']} of {d['tickets']} tickets ({d['drafted_share']:.1%}) were"
            f" handed over to a person and got a draft; {d['drafter_failed']} drafts failed"
            f" (the macro's reply stood), {d.get('requests_failed', 0)} requests failed."
        ),
        (
            f"drafter: ${d['drafter_cost_usd']:.4f} in all, ${d['drafter_cost_per_draft_usd']:.5f}"
            f" per draft; latency p50 {d['drafter_p50_ms']:.0f} ms, p95"
            f" {d['drafter_p95_ms']:.0f} ms; CPU {d['drafter_compute_ms_mean']:.0f} ms per draft."
        ),
        "The drafts' quality is not scored.",
    ]
