"""The report in words: the table the demo prints and report.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.report._report import Report

__all__ = ["drafts_summary", "markdown", "table"]


def table(report: Report) -> str:
    header = (
        f"{'system':<22} {'kind':<9} {'accuracy':>8} {'macro-F1':>8} {'cost $':>9} "
        f"{'$/ticket':>9} {'CPU ms':>7} {'p50 ms':>7} {'p95 ms':>7} {'escalated':>9}"
    )
    rows = [header, "-" * len(header)]
    for s in report.systems:
        rows.append(
            f"{s.name:<22} {s.kind:<9} {s.accuracy:>8.4f} {s.macro_f1:>8.4f} {s.cost_usd:>9.3f} "
            f"{s.cost_per_ticket_usd:>9.5f} {s.cpu_ms:>7.2f} {s.p50_ms:>7.2f} {s.p95_ms:>7.2f} "
            f"{s.escalated_share:>9.1%}"
        )
    pgr = report.pgr()
    rows.append("")
    rows.append(f"PGR (share of the cheap->strong quality gap recovered): {_fmt(pgr)}")
    rows.append(f"cost saved vs always-strong: {report.cost_saved_vs_strong():.1%}")
    if report.sweep:
        rows.append("")
        rows.append(
            f"{'threshold':>9} {'accuracy':>8} {'cost share':>10} {'escalated':>9} {'PGR':>7}"
        )
        strong_cost = report.system("strong").cost_usd or 1.0
        for s in report.sweep:
            rows.append(
                f"{s.threshold:>9.2f} {s.accuracy:>8.4f} {s.cost_usd / strong_cost:>10.1%} "
                f"{s.escalated_share:>9.1%} {_fmt(report.pgr(s)):>7}"
            )
        rows.append(f"APGR over the sweep: {_fmt(report.apgr())}")
    if report.drafts:
        rows += ["", *drafts_summary(report)]
    if report.slowest_request:
        rows += ["", "the slowest request through the composition:", report.slowest_request]
    if report.specialists:
        rows.append("")
        rows.append(
            "department specialists vs the cheap all-intent model, on that department's tickets:"
        )
        for row in report.specialists:
            rows.append(
                f"  {row['department']:<18} n={row['n']:<4} specialist {row['specialist_accuracy']:.4f}"
                f"  cheap {row['cheap_accuracy']:.4f}"
            )
    return "\n".join(rows)


def markdown(report: Report) -> str:
    lines = [
        f"# Support desk: {report.dataset}, {report.n_tickets} test tickets (seed {report.seed})",
        "",
        "| system | kind | accuracy | macro-F1 | declared cost $ | $/ticket | CPU ms | p50 ms | p95 ms | escalated |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report.systems:
        lines.append(
            f"| {s.name} | {s.kind} | {s.accuracy:.4f} | {s.macro_f1:.4f} | {s.cost_usd:.3f} | "
            f"{s.cost_per_ticket_usd:.5f} | {s.cpu_ms:.2f} | {s.p50_ms:.2f} | {s.p95_ms:.2f} | "
            f"{s.escalated_share:.1%} |"
        )
    lines += [
        "",
        f"- PGR: {_fmt(report.pgr())}",
        f"- cost saved vs always-strong: {report.cost_saved_vs_strong():.1%}",
    ]
    if report.sweep:
        lines += [
            "",
            "| threshold | accuracy | cost share of always-strong | escalated | PGR |",
            "|---:|---:|---:|---:|---:|",
        ]
        strong_cost = report.system("strong").cost_usd or 1.0
        for s in report.sweep:
            lines.append(
                f"| {s.threshold:.2f} | {s.accuracy:.4f} | {s.cost_usd / strong_cost:.1%} | "
                f"{s.escalated_share:.1%} | {_fmt(report.pgr(s))} |"
            )
        lines.append(f"\nAPGR: {_fmt(report.apgr())}")
    if report.drafts:
        lines += ["", "## LLM drafts (examples/llm-desk)", "", *drafts_summary(report)]
    if report.specialists:
        lines += [
            "",
            "| department | tickets | specialist accuracy | cheap accuracy |",
            "|---|---:|---:|---:|",
        ]
        for row in report.specialists:
            lines.append(
                f"| {row['department']} | {row['n']} | {row['specialist_accuracy']:.4f} | {row['cheap_accuracy']:.4f} |"
            )
    lines.append("")
    return "\n".join(lines)


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


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
