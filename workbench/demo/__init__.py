"""`tutti demo`: the user's loop on the bundled support desk (BANKING77), measured over gRPC.

Single models against the composition, on the same tickets, reported.

`_desk` holds the data and the models, `_measure` sends the tickets and collects the
outcomes, `_run` is the command; the figures and the report are in workbench.report.
"""

from __future__ import annotations

from workbench.demo._desk import (
    DATASET,
    DESK,
    LLM_DESK,
    Ticket,
    banking77,
    ensure_models,
    model_plan,
    sample_tickets,
)
from workbench.demo._measure import DRAFTER, measure, measure_drafts, run_composed, run_single
from workbench.demo._run import demo, run_demo

__all__ = [
    "DATASET",
    "DESK",
    "DRAFTER",
    "LLM_DESK",
    "Ticket",
    "banking77",
    "demo",
    "ensure_models",
    "measure",
    "measure_drafts",
    "model_plan",
    "run_composed",
    "run_demo",
    "run_single",
    "sample_tickets",
]
