"""`tutti recommend`: a few answers about the task in, a composition pattern and a starter file out.

The rules that pick the pattern are listed in `_rules` (from answers) and `_data_plan` (from
labelled data); `_questions` asks for the answers, `_starter` writes the starter of named
placeholders, `_questionnaire` is the command without data. `_from_data` trains the models
and `_data_starter` writes the composition over them; `_command` picks one from the flags.
"""

from __future__ import annotations

from workbench.recommend._answers import Answers, Cost, Latency, Pattern, Structure
from workbench.recommend._command import recommend_command
from workbench.recommend._data_plan import DataPlan, StageModel, embeddings_installed, plan_models
from workbench.recommend._from_data import from_data
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
from workbench.recommend._starter import PLACEHOLDER_MODULE, starter_composition

__all__ = [
    "CATEGORIES",
    "COST",
    "LATENCY",
    "PLACEHOLDER_MODULE",
    "SIMPLE_SHARE",
    "STRUCTURE",
    "AnswerError",
    "Answers",
    "Cost",
    "DataPlan",
    "Latency",
    "Pattern",
    "Question",
    "Recommendation",
    "StageModel",
    "Structure",
    "ask",
    "embeddings_installed",
    "from_data",
    "gather",
    "plan_models",
    "questionnaire",
    "recommend",
    "recommend_command",
    "starter_composition",
]
