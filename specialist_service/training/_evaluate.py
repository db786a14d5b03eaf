"""A trained model scored on a dev file: accuracy, per department for a triage, unseen labels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from specialist_service.training._data import data_sha256
from specialist_service.training._select import DevSet

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True)
class Evaluation:
    """How a model did on the rows of a dev file.

    Only rows whose label the model knows are scored: a model cannot answer a
    label it never saw, and counting such rows as wrong would hide how well it
    does on the rest. They are counted in `unseen` instead, by label.
    """

    source: str
    fingerprint: str
    # true label -> (rows answered with it, rows), over the labels the model knows
    by_label: Mapping[str, tuple[int, int]]
    unseen: Mapping[str, int]
    outside_department: int = 0
    per_department: bool = False

    @property
    def examples(self) -> int:
        return sum(rows for _, rows in self.by_label.values())

    @property
    def correct(self) -> int:
        return sum(right for right, _ in self.by_label.values())

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.examples if self.examples else None

    def card(self) -> dict[str, Any]:
        """The `dev` entry of model.json."""
        card: dict[str, Any] = {
            "file": Path(self.source).name,
            "data_sha256": self.fingerprint,
            "examples": self.examples,
            "correct": self.correct,
            "accuracy": _rounded(self.accuracy),
            "unseen": {"examples": sum(self.unseen.values()), "labels": dict(self.unseen)},
        }
        if self.outside_department:
            card["outside_department"] = self.outside_department
        if self.per_department:
            card["departments"] = {
                department: {"examples": rows, "correct": right, "accuracy": _rounded(right / rows)}
                for department, (right, rows) in self.by_label.items()
            }
        return card

    def report(self) -> list[str]:
        """What `tutti train` prints about it, a line each."""
        name = Path(self.source).name
        if self.accuracy is None:
            lines = [f"dev {name}: no row has a label the model knows; nothing to score"]
        else:
            lines = [
                f"dev {name}: accuracy {self.accuracy:.3f}"
                f" ({self.correct} of {self.examples} rows right)"
            ]
        if self.per_department and self.by_label:
            lines.append("  per department:")
            width = max(len(d) for d in self.by_label)
            lines += [
                f"    {department:<{width}}  {right / rows:.3f}  ({right} of {rows})"
                for department, (right, rows) in self.by_label.items()
            ]
        unseen = sum(self.unseen.values())
        if unseen:
            labels = ", ".join(f"{label} ({n})" for label, n in list(self.unseen.items())[:8])
            more = f" and {len(self.unseen) - 8} more" if len(self.unseen) > 8 else ""
            lines.append(
                f"  {unseen} {_rows(unseen)} with a label the model never saw, not scored:"
                f" {labels}{more}"
            )
            if self.accuracy is not None:
                everything = self.correct / (self.examples + unseen)
                lines.append(f"  counting them as wrong, accuracy would be {everything:.3f}")
        if self.outside_department:
            lines.append(
                f"  {self.outside_department} {_rows(self.outside_department)} with a label"
                " outside this department, left to the other models"
            )
        return lines


def evaluate(model: Pipeline, dev: DevSet) -> Evaluation:
    """Score `model` on `dev` as the sklearn backend would answer: the most probable class."""
    classes = [str(c) for c in model.classes_]
    known = set(classes)
    unseen = Counter(dev.no_department)
    unseen.update(label for label in dev.data.labels if label not in known)
    rows = dev.data.only(lambda label: label in known)
    tally: dict[str, list[int]] = {label: [0, 0] for label in sorted(set(rows.labels))}
    if rows.texts:
        probabilities = model.predict_proba(list(rows.texts))
        for label, row in zip(rows.labels, probabilities, strict=True):
            tally[label][1] += 1
            tally[label][0] += classes[int(row.argmax())] == label
    return Evaluation(
        source=dev.data.source,
        fingerprint=data_sha256(dev.data),
        by_label={label: (right, total) for label, (right, total) in tally.items()},
        unseen=dict(sorted(unseen.items())),
        outside_department=dev.outside_department,
        per_department=dev.per_department,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _rows(count: int) -> str:
    return "row" if count == 1 else "rows"
