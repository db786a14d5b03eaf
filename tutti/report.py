"""The demo's report: metrics per system, the printed table, report.json, report.md and report.png."""

from __future__ import annotations

import itertools
import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

from tutti.v1 import router_pb2

STATUS_OK = router_pb2.StageRun.STATUS_OK

__all__ = ["Outcome", "Report", "SystemResult", "budget_report", "draft_figures", "summarise"]


@dataclass(frozen=True)
class Outcome:
    """What one system did with one ticket."""

    truth: str
    predicted: str
    latency_ms: float
    cost_usd: float
    cpu_ms: float
    escalated: bool = False
    fanned_out: bool = False
    error: str = ""


@dataclass(frozen=True)
class SystemResult:
    name: str
    kind: str  # "single" | "composed"
    n_tickets: int
    accuracy: float
    macro_f1: float
    cost_usd: float  # declared cost of answering all n_tickets
    cost_per_ticket_usd: float
    cpu_ms: float  # mean CPU time per ticket, summed over the stages that ran
    p50_ms: float
    p95_ms: float
    escalated_share: float
    fanout_share: float
    errors: int
    threshold: float | None = None


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(
    name: str, kind: str, outcomes: Sequence[Outcome], threshold: float | None = None
) -> SystemResult:
    answered = [o for o in outcomes if not o.error]
    n = len(outcomes)
    truths = [o.truth for o in outcomes]
    predictions = [o.predicted if not o.error else "<error>" for o in outcomes]
    cost = sum(o.cost_usd for o in outcomes)
    return SystemResult(
        name=name,
        kind=kind,
        n_tickets=n,
        accuracy=sum(t == p for t, p in zip(truths, predictions, strict=True)) / n if n else 0.0,
        macro_f1=float(f1_score(truths, predictions, average="macro", labels=sorted(set(truths))))
        if n
        else 0.0,
        cost_usd=cost,
        cost_per_ticket_usd=cost / n if n else 0.0,
        cpu_ms=statistics.fmean(o.cpu_ms for o in answered) if answered else 0.0,
        p50_ms=_percentile([o.latency_ms for o in answered], 0.50),
        p95_ms=_percentile([o.latency_ms for o in answered], 0.95),
        escalated_share=sum(o.escalated for o in outcomes) / n if n else 0.0,
        fanout_share=sum(o.fanned_out for o in outcomes) / n if n else 0.0,
        errors=n - len(answered),
        threshold=threshold,
    )


def draft_figures(executions: Sequence[Any], n_tickets: int, drafter: str) -> dict[str, Any]:
    """The drafter stage's share of tickets, cost and latency, from each request's Execution."""
    runs = [s for e in executions for s in e.stages if s.stage == drafter]
    ok = [s for s in runs if s.status == STATUS_OK]
    latencies = [s.latency_ms for s in ok]
    cost = sum(s.cost_usd for s in runs)
    return {
        "tickets": n_tickets,
        "drafted": len(ok),
        "drafter_failed": len(runs) - len(ok),
        "drafted_share": len(ok) / n_tickets if n_tickets else 0.0,
        "drafter_cost_usd": cost,
        "drafter_cost_per_draft_usd": cost / len(ok) if ok else 0.0,
        "drafter_p50_ms": _percentile(latencies, 0.50),
        "drafter_p95_ms": _percentile(latencies, 0.95),
        "drafter_compute_ms_mean": statistics.fmean(s.compute_ms for s in ok) if ok else 0.0,
        "quality": "not scored",
    }


@dataclass
class Report:
    dataset: str
    n_tickets: int
    seed: int
    systems: list[SystemResult]
    sweep: list[SystemResult] = field(default_factory=list)
    specialists: list[dict[str, Any]] = field(default_factory=list)
    # The latency budget report of the composition's slowest request.
    slowest_request: str = ""
    # The LLM desk's drafter: share of tickets drafted, cost and latency (tutti.demo).
    drafts: dict[str, Any] = field(default_factory=dict)

    def system(self, name: str) -> SystemResult:
        return next(s for s in self.systems if s.name == name)

    @property
    def composed(self) -> SystemResult:
        return next(s for s in self.systems if s.kind == "composed")

    def pgr(self, result: SystemResult | None = None) -> float | None:
        """Performance gap recovered: (Q_composed - Q_cheap) / (Q_strong - Q_cheap)."""
        cheap, strong = self.system("cheap"), self.system("strong")
        gap = strong.accuracy - cheap.accuracy
        if abs(gap) < 1e-12:
            return None
        return ((result or self.composed).accuracy - cheap.accuracy) / gap

    def cost_saved_vs_strong(self) -> float:
        strong = self.system("strong").cost_usd
        return 1.0 - self.composed.cost_usd / strong if strong else 0.0

    def apgr(self) -> float | None:
        """Average PGR over the sweep, by area under PGR against cost share of always-strong."""
        strong_cost = self.system("strong").cost_usd
        points = sorted(
            (s.cost_usd / strong_cost, self.pgr(s) or 0.0) for s in self.sweep if strong_cost
        )
        if len(points) < 2:
            return None
        area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points))
        width = points[-1][0] - points[0][0]
        return area / width if width else None

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "n_tickets": self.n_tickets,
            "seed": self.seed,
            "systems": [asdict(s) for s in self.systems],
            "pgr": self.pgr(),
            "cost_saved_vs_strong": self.cost_saved_vs_strong(),
            "sweep": [asdict(s) for s in self.sweep],
            "apgr": self.apgr(),
            "specialists": self.specialists,
            "drafts": self.drafts,
        }

    def table(self) -> str:
        header = (
            f"{'system':<22} {'kind':<9} {'accuracy':>8} {'macro-F1':>8} {'cost $':>9} "
            f"{'$/ticket':>9} {'CPU ms':>7} {'p50 ms':>7} {'p95 ms':>7} {'escalated':>9}"
        )
        rows = [header, "-" * len(header)]
        for s in self.systems:
            rows.append(
                f"{s.name:<22} {s.kind:<9} {s.accuracy:>8.4f} {s.macro_f1:>8.4f} {s.cost_usd:>9.3f} "
                f"{s.cost_per_ticket_usd:>9.5f} {s.cpu_ms:>7.2f} {s.p50_ms:>7.2f} {s.p95_ms:>7.2f} "
                f"{s.escalated_share:>9.1%}"
            )
        pgr = self.pgr()
        rows.append("")
        rows.append(f"PGR (share of the cheap->strong quality gap recovered): {_fmt(pgr)}")
        rows.append(f"cost saved vs always-strong: {self.cost_saved_vs_strong():.1%}")
        if self.sweep:
            rows.append("")
            rows.append(
                f"{'threshold':>9} {'accuracy':>8} {'cost share':>10} {'escalated':>9} {'PGR':>7}"
            )
            strong_cost = self.system("strong").cost_usd or 1.0
            for s in self.sweep:
                rows.append(
                    f"{s.threshold:>9.2f} {s.accuracy:>8.4f} {s.cost_usd / strong_cost:>10.1%} "
                    f"{s.escalated_share:>9.1%} {_fmt(self.pgr(s)):>7}"
                )
            rows.append(f"APGR over the sweep: {_fmt(self.apgr())}")
        if self.drafts:
            rows += ["", *self.drafts_summary()]
        if self.slowest_request:
            rows += ["", "the slowest request through the composition:", self.slowest_request]
        if self.specialists:
            rows.append("")
            rows.append(
                "department specialists vs the cheap all-intent model, on that department's tickets:"
            )
            for row in self.specialists:
                rows.append(
                    f"  {row['department']:<18} n={row['n']:<4} specialist {row['specialist_accuracy']:.4f}"
                    f"  cheap {row['cheap_accuracy']:.4f}"
                )
        return "\n".join(rows)

    def write(self, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "report.json", out / "report.md", out / "report.png"]
        paths[0].write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")
        paths[1].write_text(self.markdown(), encoding="utf-8")
        self.plot(paths[2])
        return paths

    def markdown(self) -> str:
        lines = [
            f"# Support desk: {self.dataset}, {self.n_tickets} test tickets (seed {self.seed})",
            "",
            "| system | kind | accuracy | macro-F1 | declared cost $ | $/ticket | CPU ms | p50 ms | p95 ms | escalated |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in self.systems:
            lines.append(
                f"| {s.name} | {s.kind} | {s.accuracy:.4f} | {s.macro_f1:.4f} | {s.cost_usd:.3f} | "
                f"{s.cost_per_ticket_usd:.5f} | {s.cpu_ms:.2f} | {s.p50_ms:.2f} | {s.p95_ms:.2f} | "
                f"{s.escalated_share:.1%} |"
            )
        lines += [
            "",
            f"- PGR: {_fmt(self.pgr())}",
            f"- cost saved vs always-strong: {self.cost_saved_vs_strong():.1%}",
        ]
        if self.sweep:
            lines += [
                "",
                "| threshold | accuracy | cost share of always-strong | escalated | PGR |",
                "|---:|---:|---:|---:|---:|",
            ]
            strong_cost = self.system("strong").cost_usd or 1.0
            for s in self.sweep:
                lines.append(
                    f"| {s.threshold:.2f} | {s.accuracy:.4f} | {s.cost_usd / strong_cost:.1%} | "
                    f"{s.escalated_share:.1%} | {_fmt(self.pgr(s))} |"
                )
            lines.append(f"\nAPGR: {_fmt(self.apgr())}")
        if self.drafts:
            lines += ["", "## LLM drafts (examples/llm-desk)", "", *self.drafts_summary()]
        if self.specialists:
            lines += [
                "",
                "| department | tickets | specialist accuracy | cheap accuracy |",
                "|---|---:|---:|---:|",
            ]
            for row in self.specialists:
                lines.append(
                    f"| {row['department']} | {row['n']} | {row['specialist_accuracy']:.4f} | {row['cheap_accuracy']:.4f} |"
                )
        lines.append("")
        return "\n".join(lines)

    def drafts_summary(self) -> list[str]:
        """The LLM desk's drafter in three lines (empty when the demo skipped it)."""
        d = self.drafts
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

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
        if self.sweep:
            points = sorted((s.cost_per_ticket_usd, s.accuracy, s.threshold) for s in self.sweep)
            axes.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                "-o",
                color="#999999",
                markersize=3,
                label="composition, threshold sweep",
            )
            for x, y, t in points:
                axes.annotate(
                    f"{t:g}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7
                )
        for s in self.systems:
            marker = "*" if s.kind == "composed" else "o"
            axes.plot(
                s.cost_per_ticket_usd,
                s.accuracy,
                marker,
                markersize=12 if marker == "*" else 8,
                label=f"{s.name} ({s.accuracy:.3f})",
            )
        axes.set_xlabel("declared cost per ticket (USD)")
        axes.set_ylabel("intent accuracy")
        axes.set_title(f"{self.dataset}: cost vs accuracy, {self.n_tickets} tickets")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="lower right")
        figure.tight_layout()
        figure.savefig(path)
        plt.close(figure)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def budget_report(execution: Any) -> str:
    """Each stage's latency budget against its elapsed time, the slowest stage, the ones over budget.

    `execution` is a tutti.v1.Execution.
    """
    stages = list(execution.stages)
    lines = [
        f"latency budget report: {execution.composition}, {execution.latency_ms:.2f} ms in all"
    ]
    lines.append(f"  {'stage':<20} {'budget ms':>9} {'elapsed ms':>10}  status")
    for run in stages:
        budget = f"{run.budget_ms:g}" if run.budget_ms else "-"
        flag = "OVER BUDGET" if run.over_budget else ""
        status = type(run).Status.Name(run.status).removeprefix("STATUS_")
        lines.append(
            f"  {run.stage:<20} {budget:>9} {run.latency_ms:>10.2f}  {status} {flag}".rstrip()
        )
    timed = [run for run in stages if run.latency_ms]
    if timed:
        slowest = max(timed, key=lambda run: run.latency_ms)
        lines.append(f"  slowest stage: {slowest.stage} ({slowest.latency_ms:.2f} ms)")
    over = [run.stage for run in stages if run.over_budget]
    lines.append(f"  over budget: {', '.join(over) if over else 'none'}")
    return "\n".join(lines)
