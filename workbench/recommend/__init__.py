"""`tutti recommend`: a few answers about the task in, a composition pattern and a starter file out.

The rules that pick the pattern are listed in `_rules`; `_questions` asks for the answers,
`_starter` writes the starter composition, `_questionnaire` is the command.
"""

from __future__ import annotations

from workbench.recommend._answers import Answers, Cost, Latency, Pattern, Structure
from workbench.recommend._questionnaire import questionnaire
from workbench.recommend._questions import (
    CATEGORIES,
    COST,
    LATENCY,
    SIMPLE_SHARE,
    STRUCTURE,
    AnswerError,
    Question,
    ask,
    gather,
)
from workbench.recommend._rules import Recommendation, recommend
from workbench.recommend._starter import starter_composition

__all__ = [
    "CATEGORIES",
    "COST",
    "LATENCY",
    "SIMPLE_SHARE",
    "STRUCTURE",
    "AnswerError",
    "Answers",
    "Cost",
    "Latency",
    "Pattern",
    "Question",
    "Recommendation",
    "Structure",
    "ask",
    "gather",
    "questionnaire",
    "recommend",
    "starter_composition",
]
