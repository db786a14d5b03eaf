"""Labelled texts as read from a user's TSV or CSV file, and the departments that group labels."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from tutti.errors import ConfigError, Problem

__all__ = ["LabelledData", "data_sha256", "read_departments", "read_labelled"]


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


def data_sha256(data: LabelledData) -> str:
    """A fingerprint of the rows a model learns from, kept in its model.json."""
    digest = hashlib.sha256()
    for text, label in zip(data.texts, data.labels, strict=True):
        digest.update(f"{text}\t{label}\n".encode())
    return digest.hexdigest()
