"""The labels the composition's models were trained on, from their model cards, if they have any."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from router_service import Draft
from tutti.errors import ConfigError, Problem
from workbench.dataset import Dataset

__all__ = ["check_known_labels", "trained_labels"]

CARD = "model.json"
# Rows named in the error; the rest are counted.
SHOWN = 10


def _card_of(model: object, folder: Path) -> Path | None:
    if not isinstance(model, str):
        return None
    path = Path(model) if Path(model).is_absolute() else folder / model
    card = path / CARD if path.is_dir() else path.with_name(CARD)
    return card if card.is_file() else None


def trained_labels(draft: Draft) -> tuple[set[str], list[str]]:
    """Every label in the model cards (model.json) beside the stages' `serve:` models, and
    the cards read; no cards, no labels (the check is then skipped)."""
    folder = Path(draft.source).resolve().parent
    labels: set[str] = set()
    cards: list[str] = []
    for spec in draft.stages.values():
        serve: Mapping[str, Any] = spec.serve or {}
        options = serve.get("options")
        candidates = [serve.get("model")]
        if isinstance(options, Mapping):
            candidates.append(options.get("model"))
        for model in candidates:
            card = _card_of(model, folder)
            if card is None:
                continue
            try:
                found = json.loads(card.read_text(encoding="utf-8")).get("labels", [])
            except (OSError, ValueError, AttributeError):
                continue
            labels.update(str(label) for label in found)
            cards.append(str(card))
    return labels, cards


def check_known_labels(draft: Draft, dataset: Dataset, label_column: str) -> None:
    """A ConfigError naming the rows whose label no model of the composition was trained on."""
    known, cards = trained_labels(draft)
    if not cards:
        return
    unseen = [item for item in dataset.items if item.label not in known]
    if not unseen:
        return
    problems = [
        Problem(
            dataset.source,
            item.line,
            f"'{label_column}' is {item.label!r}, a label none of the composition's models was"
            f" trained on (their model.json: {', '.join(sorted(set(cards)))}); retrain them, or"
            " pass --allow-unseen-labels to count these rows as wrong",
        )
        for item in unseen[:SHOWN]
    ]
    if len(unseen) > SHOWN:
        problems.append(
            Problem(dataset.source, unseen[SHOWN].line, f"and {len(unseen) - SHOWN} more rows")
        )
    raise ConfigError(problems)
