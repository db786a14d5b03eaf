"""Train the models a specialist serves, from any labelled TSV or CSV file (`tutti train`)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union

from specialist_service._embedding import SentenceEmbedder
from tutti.errors import ConfigError, Problem

__all__ = [
    "MODEL_KINDS",
    "Artifact",
    "LabelledData",
    "build_model",
    "data_sha256",
    "read_departments",
    "read_labelled",
    "select_for",
    "train",
]

MODEL_KINDS = ("cheap", "strong", "specialist")
MODEL_FILE = "model.joblib"
CARD_FILE = "model.json"


@dataclass(frozen=True)
class LabelledData:
    """Texts and their labels, as read from one file."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    source: str

    def only(self, keep: Callable[[str], bool]) -> LabelledData:
        pairs = [(t, lab) for t, lab in zip(self.texts, self.labels, strict=True) if keep(lab)]
        return LabelledData(tuple(t for t, _ in pairs), tuple(lab for _, lab in pairs), self.source)

    def first_per_label(self, count: int) -> LabelledData:
        """The first `count` rows of each label, in file order: a small, deterministic subset."""
        seen: Counter[str] = Counter()

        def keep(label: str) -> bool:
            seen[label] += 1
            return seen[label] <= count

        return self.only(keep)

    def relabel(self, mapping: Mapping[str, str]) -> LabelledData:
        return LabelledData(self.texts, tuple(mapping[lab] for lab in self.labels), self.source)


@dataclass(frozen=True)
class Artifact:
    """A trained model on disk; `version` is the content hash of its model file."""

    folder: Path
    version: str
    kind: str
    labels: tuple[str, ...]

    @property
    def model_file(self) -> Path:
        return self.folder / MODEL_FILE


def read_labelled(
    path: str | Path, text_column: str = "text", label_column: str = "label"
) -> LabelledData:
    """Read a TSV (.tsv) or CSV file with a header; every problem names the file and line."""
    path = Path(path)
    source = str(path)
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(Problem(source, 0, f"cannot read: {exc}")) from exc
    if not content.strip():
        raise ConfigError(
            Problem(source, 1, "the file is empty; expected a header and labelled rows")
        )
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    columns = reader.fieldnames or []
    missing = [c for c in (text_column, label_column) if c not in columns]
    if missing:
        found = ", ".join(repr(c) for c in columns) or "none"
        raise ConfigError(
            Problem(source, 1, f"no column {', '.join(repr(m) for m in missing)} (found: {found})")
        )
    texts: list[str] = []
    labels: list[str] = []
    for row in reader:
        line = reader.line_num
        text, label = (row.get(text_column) or "").strip(), (row.get(label_column) or "").strip()
        if not text or not label:
            empty = text_column if not text else label_column
            raise ConfigError(Problem(source, line, f"empty {empty!r} in this row"))
        texts.append(text)
        labels.append(label)
    if not texts:
        raise ConfigError(Problem(source, 1, "a header but no rows; nothing to train on"))
    return LabelledData(tuple(texts), tuple(labels), source)


def read_departments(path: str | Path) -> dict[str, list[str]]:
    """A YAML mapping of department to its labels; each label in one department only."""
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(Problem(source, 0, f"cannot read departments: {exc}")) from exc
    if not isinstance(data, Mapping) or not all(isinstance(v, list) for v in data.values()):
        raise ConfigError(
            Problem(source, 1, "expected a mapping of department to a list of labels")
        )
    seen: dict[str, str] = {}
    for department, labels in data.items():
        for label in labels:
            if str(label) in seen:
                raise ConfigError(
                    Problem(
                        source, 0, f"label {label!r} is in both {seen[str(label)]} and {department}"
                    )
                )
            seen[str(label)] = str(department)
    return {str(d): [str(x) for x in labels] for d, labels in data.items()}


def build_model(kind: str, seed: int = 0) -> Pipeline:
    """The unfitted pipeline of a model kind.

    cheap and specialist: TF-IDF over words (1-2) and characters (2-5) into
    a logistic regression; strong: sentence embeddings into one.
    """
    if kind == "strong":
        return Pipeline(
            [
                ("embed", SentenceEmbedder()),
                ("classify", LogisticRegression(C=10.0, max_iter=3000, random_state=seed)),
            ]
        )
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    return Pipeline(
        [
            ("features", features),
            ("classify", LogisticRegression(C=20.0, max_iter=3000, random_state=seed)),
        ]
    )


def train(
    data: LabelledData,
    kind: str,
    out: str | Path,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> Artifact:
    """Fit a model on `data` and write `model.joblib` and `model.json` into `out`.

    Deterministic given the data and the seed: the same inputs give the same
    bytes, and so the same version.
    """
    counts = Counter(data.labels)
    if len(counts) < 2:
        only = next(iter(counts), "none")
        raise ConfigError(
            Problem(data.source, 0, f"only one class ({only!r}); a classifier needs at least two")
        )
    random.seed(seed)
    np.random.seed(seed)
    log(f"training a {kind} model on {len(data.texts)} texts, {len(counts)} labels ...")
    model = build_model(kind, seed)
    model.fit(list(data.texts), list(data.labels))
    _forget_object_ids(model)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    content = buffer.getvalue()
    version = hashlib.sha256(content).hexdigest()[:12]
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_bytes(content)
    card: dict[str, Any] = {
        "kind": kind,
        "version": version,
        "labels": sorted(counts),
        "examples": len(data.texts),
        "seed": seed,
        "data": Path(data.source).name,
        "data_sha256": data_sha256(data),
    }
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {folder / MODEL_FILE} (version {version})")
    return Artifact(folder, version, kind, tuple(sorted(counts)))


def _forget_object_ids(model: Pipeline) -> None:
    """Drop what makes the same fit pickle to different bytes in another process.

    TfidfVectorizer keeps `_stop_words_id`, the memory address of its stop
    word list, to skip a check on refits; without it the check just runs.
    """
    for _, step in model.steps:
        for _, part in getattr(step, "transformer_list", [("", step)]):
            if isinstance(part, TfidfVectorizer):
                vars(part).pop("_stop_words_id", None)


def data_sha256(data: LabelledData) -> str:
    """A fingerprint of the rows a model learns from, kept in its model.json."""
    digest = hashlib.sha256()
    for text, label in zip(data.texts, data.labels, strict=True):
        digest.update(f"{text}\t{label}\n".encode())
    return digest.hexdigest()


def select_for(
    data: LabelledData,
    kind: str,
    departments: Mapping[str, Sequence[str]] | None,
    department: str | None,
    predict_department: bool,
    source: str,
) -> LabelledData:
    """The rows and labels a model of `kind` trains on, given the department options."""
    if (department or predict_department) and departments is None:
        raise ConfigError(
            Problem(source, 0, "--department and --predict-department need --departments FILE")
        )
    if kind == "specialist":
        if departments is None or not department:
            raise ConfigError(
                Problem(source, 0, "a specialist needs --departments FILE and --department NAME")
            )
        if department not in departments:
            raise ConfigError(
                Problem(
                    source, 0, f"no department {department!r} (known: {', '.join(departments)})"
                )
            )
        keep = set(departments[department])
        data = data.only(lambda label: label in keep)
        if not data.texts:
            raise ConfigError(
                Problem(data.source, 0, f"no rows with a label of department {department!r}")
            )
    if predict_department and departments is not None:
        owner = {label: d for d, labels in departments.items() for label in labels}
        unknown = sorted(set(data.labels) - set(owner))
        if unknown:
            raise ConfigError(
                Problem(source, 0, f"labels in no department: {', '.join(unknown[:5])}")
            )
        data = data.relabel(owner)
    return data
