"""A user's labelled file as typed requests, and the label read back out of a response.

`read_dataset` turns a CSV, TSV or JSONL file into `Item`s (input message, label, line,
id) of a composition's input type; `label_path` / `default_label_path` find the label in
its output type before anything runs, and `LabelPath.read` reads it from each response;
`unknown_labels` names the labels of the data no model was trained on.
"""

from __future__ import annotations

from workbench.dataset._dataset import Dataset, Item, unknown_labels
from workbench.dataset._label_path import LabelPath, default_label_path, label_path
from workbench.dataset._read import read_dataset
from workbench.dataset._source import (
    FORMATS,
    MAX_CELL_CHARS,
    MAX_DATASET_BYTES,
    MAX_ROW_PROBLEMS,
)

__all__ = [
    "FORMATS",
    "MAX_CELL_CHARS",
    "MAX_DATASET_BYTES",
    "MAX_ROW_PROBLEMS",
    "Dataset",
    "Item",
    "LabelPath",
    "default_label_path",
    "label_path",
    "read_dataset",
    "unknown_labels",
]
