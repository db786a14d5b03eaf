"""The `python` backend: any object with `predict(msg)`, made by a configured factory."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import time
from collections.abc import Callable

from google.protobuf import message

from specialist_service._backend import Backend, Prediction, cpu_ms_since
from specialist_service._config import SpecialistConfig
from tutti.config import Problems
from tutti.errors import TuttiError
from tutti.messages import MessageTypes

__all__ = ["PythonBackend", "build"]


class PythonBackend(Backend):
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
        compute_ms = cpu_ms_since(start)
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


def build(config: SpecialistConfig, types: MessageTypes) -> PythonBackend:
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
    problems = config.problems()
    input_type = _declared_type(config, types, model, "input", problems)
    output_type = _declared_type(config, types, model, "output", problems)
    problems.raise_if_any()
    return PythonBackend(
        model,
        input_type=input_type,
        output_type=output_type,
        name=config.name or _text_attribute(model, "name") or config.factory,
        version=config.version or _text_attribute(model, "version") or "0",
    )


def _declared_type(
    config: SpecialistConfig, types: MessageTypes, model: object, key: str, problems: Problems
) -> str:
    """The config's type name, else the model's `input_type`/`output_type` (a name or a class).

    When both name one, they must agree: a stage must not promise a type its model does not return.
    """
    own: object = getattr(model, f"{key}_type", "")
    if isinstance(own, type) and issubclass(own, message.Message):
        own = own.DESCRIPTOR.full_name
    configured = getattr(config, key)
    unknown = "unknown message type {} (add its module to 'imports')"
    if configured and not types.knows(configured):
        problems.report(key, unknown.format(configured))
        return ""
    if configured and isinstance(own, str) and own and own != configured:
        problems.report(key, f"{configured}, but the model declares {key}_type {own}")
        return ""
    name: object = configured or own
    if not isinstance(name, str) or not name:
        problems.report(key, f"missing; name the type here or give the model an {key}_type")
        return ""
    if not types.knows(name):
        problems.report(key, unknown.format(name))
        return ""
    return name


def _text_attribute(model: object, attribute: str) -> str:
    value = getattr(model, attribute, "")
    return value if isinstance(value, str) else ""
