"""Train the models a specialist serves, from any labelled TSV or CSV file (`tutti train`).

read_labelled -> select_for (and select_dev for a dev file) -> train, which
fits, scores the dev rows and writes model.joblib + model.json.
"""

from __future__ import annotations

from specialist_service.training._data import (
    LabelledData,
    data_sha256,
    read_departments,
    read_labelled,
)
from specialist_service.training._evaluate import Evaluation, evaluate
from specialist_service.training._fit import CARD_FILE, MODEL_FILE, Artifact, train
from specialist_service.training._models import MODEL_KINDS, build_model, build_trivial
from specialist_service.training._select import DevSet, select_dev, select_for

__all__ = [
    "CARD_FILE",
    "MODEL_FILE",
    "MODEL_KINDS",
    "Artifact",
    "DevSet",
    "Evaluation",
    "LabelledData",
    "build_model",
    "build_trivial",
    "data_sha256",
    "evaluate",
    "read_departments",
    "read_labelled",
    "select_dev",
    "select_for",
    "train",
]
