"""`tutti demo`: the user's loop on the bundled support desk (BANKING77).

`tutti tune` chooses the desk's thresholds on the dev split for a cost target, and
`tutti eval` measures the tuned desk against the cheap and the strong model alone on the
test tickets, over gRPC.

`_desk` holds the data and the models, `_measure` the LLM desk's drafts (which eval does
not measure), `_run` is the command; the drafts report is in workbench.report.
"""

from __future__ import annotations

from workbench.demo._desk import (
    DATASET,
    DESK,
    LLM_DESK,
    Ticket,
    banking77,
    dev_tickets,
    ensure_models,
    model_plan,
    sample_tickets,
    write_tickets,
)
from workbench.demo._measure import DRAFTER, measure_drafts, run_composed
from workbench.demo._run import TUNED, DemoRun, demo, run_demo, tuned_summary

__all__ = [
    "DATASET",
    "DESK",
    "DRAFTER",
    "LLM_DESK",
    "TUNED",
    "DemoRun",
    "Ticket",
    "banking77",
    "demo",
    "dev_tickets",
    "ensure_models",
    "measure_drafts",
    "model_plan",
    "run_composed",
    "run_demo",
    "sample_tickets",
    "tuned_summary",
    "write_tickets",
]
