"""The `sklearn` backend: a scikit-learn text classifier loaded from a joblib file."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import joblib  # type: ignore[import-untyped]  # joblib ships no type information
from google.protobuf import descriptor, message

from specialist_service._backend import Backend, Prediction, cpu_ms_since
from specialist_service._config import CLASSIFICATION, SpecialistConfig
from tutti.messages import MessageTypes
from tutti.v1 import payloads_pb2

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["CARD_FILE", "MODEL_FILE", "SklearnBackend", "build", "model_name"]

# What `tutti train` writes into a model's folder: the pipeline, and its card.
MODEL_FILE = "model.joblib"
CARD_FILE = "model.json"

logger = logging.getLogger(__name__)


class SklearnBackend(Backend):
    """A scikit-learn classifier over one string field of the input.

    The pipeline must take raw strings (e.g. TfidfVectorizer + a classifier)
    and have `predict_proba` and `classes_`. Input tokens are counted as
    whitespace-separated words, the unit a bag-of-words pipeline sees.
    """

    output_type = CLASSIFICATION

    def __init__(
        self, pipeline: object, input_type: str, text_field: str, name: str, version: str
    ) -> None:
        predict_proba = getattr(pipeline, "predict_proba", None)
        classes = getattr(pipeline, "classes_", None)
        if not callable(predict_proba) or classes is None:
            raise TypeError(f"{type(pipeline).__name__} has no predict_proba and classes_")
        # One row of class probabilities per input, in the order of classes_.
        self._predict_proba: Callable[[list[str]], npt.NDArray[np.float64]] = predict_proba
        self._labels = [str(label) for label in classes]
        self._text_field = text_field
        self.input_type = input_type
        self.name = name
        self.version = version
        # A first prediction loads what the pipeline loads lazily (embedding weights, say),
        # so that the first request does not pay for it.
        predict_proba(["warm up"])

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        text = getattr(msg, self._text_field)
        # Off the loop, so a slow model does not stall other calls; thread_time
        # in the worker thread then counts this call's CPU alone.
        return await asyncio.to_thread(self._classify, text)

    def _classify(self, text: str) -> Prediction:
        start = time.thread_time()
        rows = self._predict_proba([text])
        probabilities = [float(p) for p in rows[0]]
        scores = dict(zip(self._labels, probabilities, strict=True))
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        output = payloads_pb2.Classification(
            label=self._labels[best], confidence=probabilities[best], scores=scores
        )
        return Prediction(output, input_tokens=len(text.split()), compute_ms=cpu_ms_since(start))


def build(config: SpecialistConfig, types: MessageTypes) -> SklearnBackend:
    path = config.model
    if path is None:  # from_mapping requires it; a hand-built config might not
        raise config.error("model", "missing required key")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise config.error("model", f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        # Load the bytes that were hashed, so the version names exactly this model.
        # joblib files are pickles: serve only files you trust.
        pipeline = joblib.load(io.BytesIO(content))
    except Exception as exc:  # unpickling runs arbitrary code; any failure is the file's
        raise config.error("model", f"cannot load {path}: {type(exc).__name__}: {exc}") from exc
    if not types.knows(config.input):
        raise config.error(
            "input", f"unknown message type {config.input} (add its module to 'imports')"
        )
    field = types.message_class(config.input).DESCRIPTOR.fields_by_name.get(config.text_field)
    if field is None or field.type != descriptor.FieldDescriptor.TYPE_STRING or field.is_repeated:
        raise config.error("text_field", f"{config.input} has no string field {config.text_field}")
    content_hash = hashlib.sha256(content).hexdigest()[:12]
    try:
        return SklearnBackend(
            pipeline,
            input_type=config.input,
            text_field=config.text_field,
            name=config.name or model_name(path, content_hash),
            version=config.version or content_hash,
        )
    except TypeError as exc:  # not a classifier at all
        raise config.error("model", f"{path}: {exc}") from exc
    except Exception as exc:  # the warm-up prediction: e.g. a pipeline fitted on numbers, not text
        raise config.error(
            "model", f"{path} cannot classify a list of strings: {type(exc).__name__}: {exc}"
        ) from exc


def model_name(path: Path, content_hash: str) -> str:
    """The name a model file is served under when its config gives none.

    The `name` of the model.json beside it, if that card is this file's
    (its version is the file's content hash); else the file's stem, unless
    that is the `model` every trained file is called, when the folder's name
    says which model it is (models/billing/model.joblib -> billing).
    """
    card = _card(path.parent / CARD_FILE)
    name = card.get("name")
    if card.get("version") == content_hash and isinstance(name, str) and name:
        return name
    if path.name != MODEL_FILE or not path.resolve().parent.name:
        return path.stem
    return path.resolve().parent.name


def _card(path: Path) -> dict[str, object]:
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        logger.warning("ignoring %s: %s", path, exc)
        return {}
    return card if isinstance(card, dict) else {}
