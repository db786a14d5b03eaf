"""Fit one model and write it where the sklearn backend serves it from: model.joblib + model.json."""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
from sklearn.pipeline import Pipeline

from specialist_service._sklearn import CARD_FILE, MODEL_FILE
from specialist_service.training._data import LabelledData, data_sha256
from specialist_service.training._evaluate import Evaluation, evaluate
from specialist_service.training._models import build_model, build_trivial, forget_object_ids
from specialist_service.training._select import DevSet
from tutti.errors import ConfigError, Problem

__all__ = ["CARD_FILE", "MODEL_FILE", "Artifact", "train"]


@dataclass(frozen=True)
class Artifact:
    """A trained model on disk; `version` is the content hash of its model file.

    `trivial` marks the constant model of a one-label specialist; `dev` is
    its score on the dev file, when one was given.
    """

    folder: Path
    version: str
    kind: str
    labels: tuple[str, ...]
    name: str = ""
    trivial: bool = False
    dev: Evaluation | None = None

    @property
    def model_file(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def card_file(self) -> Path:
        return self.folder / CARD_FILE


def train(
    data: LabelledData,
    kind: str,
    out: str | Path,
    seed: int = 0,
    log: Callable[[str], None] = print,
    *,
    name: str | None = None,
    dev: DevSet | None = None,
) -> Artifact:
    """Fit a model on `data` and write `model.joblib` and `model.json` into `out`.

    Deterministic given the data and the seed: the same inputs give the same
    bytes, and so the same version. A specialist whose department has one
    label gets a constant model (there is nothing to tell apart); any other
    model needs two labels at least. `name` is what the served model calls
    itself (default: the folder's name); `dev` is scored after the fit.
    """
    counts = Counter(data.labels)
    trivial = kind == "specialist" and len(counts) == 1
    if len(counts) < 2 and not trivial:
        only = next(iter(counts), "none")
        raise ConfigError(
            Problem(data.source, 0, f"only one class ({only!r}); a classifier needs at least two")
        )
    folder = Path(out)
    name = name or folder.resolve().name
    model = _fit(data, kind, seed, counts, log)
    content = _dumped(model)
    version = hashlib.sha256(content).hexdigest()[:12]
    evaluation = None
    if dev is not None:
        count = len(dev.data.texts)
        log(f"scoring on {count} dev {'row' if count == 1 else 'rows'} ...")
        evaluation = evaluate(model, dev)
        for line in evaluation.report():
            log(line)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_bytes(content)
    card: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "version": version,
        "labels": sorted(counts),
        "trivial": trivial,
        "examples": len(data.texts),
        "seed": seed,
        "data": Path(data.source).name,
        "data_sha256": data_sha256(data),
    }
    if evaluation is not None:
        card["dev"] = evaluation.card()
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {folder / MODEL_FILE} (name {name}, version {version})")
    return Artifact(folder, version, kind, tuple(sorted(counts)), name, trivial, evaluation)


def _fit(
    data: LabelledData, kind: str, seed: int, counts: Counter[str], log: Callable[[str], None]
) -> Pipeline:
    if len(counts) == 1:
        (label,) = counts
        log(
            f"one label only ({label!r}, {len(data.texts)} texts): a trivial model that"
            f" always answers {label!r} with confidence 1.0, nothing to learn"
        )
        model = build_trivial(label)
    else:
        log(f"training a {kind} model on {len(data.texts)} texts, {len(counts)} labels ...")
        model = build_model(kind, seed)
    random.seed(seed)
    np.random.seed(seed)
    start = time.perf_counter()
    model.fit(list(data.texts), list(data.labels))
    if len(counts) > 1:
        log(f"fitted in {time.perf_counter() - start:.1f} s")
    forget_object_ids(model)
    return model


def _dumped(model: Pipeline) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return bytes(buffer.getvalue())
