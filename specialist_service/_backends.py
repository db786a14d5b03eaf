"""Model backends: plain, transport-free code that turns one input message into one output."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib
import inspect
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import joblib  # type: ignore[import-untyped]  # joblib ships no type information
from google.protobuf import descriptor, message

from specialist_service._config import CLASSIFICATION, SpecialistConfig
from tutti.errors import TuttiError
from tutti.messages import MessageTypes
from tutti.v1 import payloads_pb2

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Backend", "Prediction", "PythonBackend", "SklearnBackend", "build_backend"]


@dataclass(frozen=True)
class Prediction:
    """One answer from a model and what producing it consumed.

    A python-backend model may return one of these instead of a bare message
    to report tokens; `compute_ms` left as None is measured for it.
    """

    output: message.Message
    input_tokens: int = 0
    output_tokens: int = 0
    compute_ms: float | None = None


class Backend(Protocol):
    """A loaded model with its declared types; `predict` always fills `compute_ms`."""

    @property
    def input_type(self) -> str: ...

    @property
    def output_type(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        """Answer `msg`; `timeout` is the seconds left of the caller's deadline, if it set one."""
        ...


def _cpu_ms_since(start: float) -> float:
    return max(0.0, (time.thread_time() - start) * 1000)


class PythonBackend:
    """Hosts any object with `predict(msg)`, sync or async, returning a message or a Prediction.

    Sync models run on the event loop, so one that blocks for long should be
    async. For async models, compute_ms is the loop thread's CPU time while
    the call was pending, which includes whatever else ran meanwhile.
    """

    def __init__(
        self,
        model: object,
        input_type: str,
        output_type: str,
        name: str,
        version: str,
    ) -> None:
        predict = getattr(model, "predict", None)
        if not callable(predict):
            raise TypeError(f"{type(model).__name__} has no predict(message) method")
        self._predict: Callable[[message.Message], object] = predict
        self.model = model
        self.input_type = input_type
        self.output_type = output_type
        self.name = name
        self.version = version

    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        start = time.thread_time()
        result = self._predict(msg)
        if inspect.isawaitable(result):
            result = await result
        compute_ms = _cpu_ms_since(start)
        prediction = result if isinstance(result, Prediction) else Prediction(_as_message(result))
        actual = _as_message(prediction.output).DESCRIPTOR.full_name
        if actual != self.output_type:
            raise TuttiError(
                f"model {self.name} returned {actual}; its output type is {self.output_type}"
            )
        if prediction.compute_ms is None:
            prediction = dataclasses.replace(prediction, compute_ms=compute_ms)
        return prediction


def _as_message(value: object) -> message.Message:
    if not isinstance(value, message.Message):
        raise TuttiError(f"a model returned {type(value).__name__}, not a protobuf message")
    return value


class SklearnBackend:
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
        return Prediction(output, input_tokens=len(text.split()), compute_ms=_cpu_ms_since(start))


def build_backend(config: SpecialistConfig, types: MessageTypes | None = None) -> Backend:
    """Import or load the configured model; problems become ConfigErrors naming the key."""
    types = types or MessageTypes()
    if config.backend == "python":
        return _python_backend(config, types)
    if config.backend == "sklearn":
        return _sklearn_backend(config, types)
    # Imported on use: each pulls in its own client library.
    if config.backend == "openai":
        from specialist_service import _openai

        return _openai.build(config, types)
    if config.backend == "gguf":
        from specialist_service import _gguf

        return _gguf.build(config, types)
    from specialist_service import _oip

    return _oip.build(config, types)


def _python_backend(config: SpecialistConfig, types: MessageTypes) -> PythonBackend:
    module_name, _, attribute = config.factory.partition(":")
    try:
        target: object = importlib.import_module(module_name)
    except Exception as exc:  # any failure to import is the config's problem
        raise config.error(
            "factory", f"cannot import {module_name}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise config.error("factory", f"{module_name} has no attribute {attribute}") from None
    if not callable(target):
        raise config.error("factory", f"{config.factory} is not callable")
    try:
        model = target(**config.options)
    except Exception as exc:  # the model's own code; any failure is a config problem
        raise config.error(
            "factory", f"{config.factory}(**options) failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(getattr(model, "predict", None)):
        raise config.error(
            "factory", f"{config.factory} returned {type(model).__name__}, which has no predict"
        )
    return PythonBackend(
        model,
        input_type=_declared_type(config, types, model, "input"),
        output_type=_declared_type(config, types, model, "output"),
        name=config.name or _text_attribute(model, "name") or config.factory,
        version=config.version or _text_attribute(model, "version") or "0",
    )


def _declared_type(config: SpecialistConfig, types: MessageTypes, model: object, key: str) -> str:
    """The config's type name, else the model's `input_type`/`output_type` (a name or a class).

    When both name one, they must agree: a stage must not promise a type its model does not return.
    """
    own: object = getattr(model, f"{key}_type", "")
    if isinstance(own, type) and issubclass(own, message.Message):
        own = own.DESCRIPTOR.full_name
    configured = getattr(config, key)
    if configured and not types.knows(configured):
        raise config.error(
            key, f"unknown message type {configured}; is the module defining it imported?"
        )
    if configured and isinstance(own, str) and own and own != configured:
        raise config.error(key, f"{configured}, but the model declares {key}_type {own}")
    name: object = configured or own
    if not isinstance(name, str) or not name:
        raise config.error(key, f"missing; name the type here or give the model an {key}_type")
    if not types.knows(name):
        raise config.error(key, f"unknown message type {name}; is the module defining it imported?")
    return name


def _text_attribute(model: object, attribute: str) -> str:
    value = getattr(model, attribute, "")
    return value if isinstance(value, str) else ""


def _sklearn_backend(config: SpecialistConfig, types: MessageTypes) -> SklearnBackend:
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
        raise config.error("input", f"unknown message type {config.input}")
    field = types.message_class(config.input).DESCRIPTOR.fields_by_name.get(config.text_field)
    if field is None or field.type != descriptor.FieldDescriptor.TYPE_STRING or field.is_repeated:
        raise config.error("text_field", f"{config.input} has no string field {config.text_field}")
    try:
        return SklearnBackend(
            pipeline,
            input_type=config.input,
            text_field=config.text_field,
            name=config.name or path.stem,
            version=config.version or hashlib.sha256(content).hexdigest()[:12],
        )
    except TypeError as exc:  # not a classifier at all
        raise config.error("model", f"{path}: {exc}") from exc
    except Exception as exc:  # the warm-up prediction: e.g. a pipeline fitted on numbers, not text
        raise config.error(
            "model", f"{path} cannot classify a list of strings: {type(exc).__name__}: {exc}"
        ) from exc
