"""Small real models that tests serve with the python backend, e.g. factory "tests.stages:echo".

Each factory returns an object whose `calls` counts predictions and whose
`seen` keeps the inputs, readable by a test whose server runs in its own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
from google.protobuf import message

from specialist_service import Prediction
from tutti.errors import TuttiError
from tutti.v1 import payloads_pb2

__all__ = [
    "Echo",
    "Failing",
    "FixedClassification",
    "Flaky",
    "Hiccup",
    "KeywordClassifier",
    "Slow",
    "calls_started",
    "Suffix",
    "echo",
    "failing",
    "fixed_classification",
    "flaky",
    "hiccup",
    "invalid_classification",
    "keyword_classifier",
    "slow",
    "suffix",
]

TEXT = "tutti.v1.Text"
CLASSIFICATION = "tutti.v1.Classification"


class _Model:
    """What every test model shares: declared types and a record of its calls."""

    def __init__(self, input_type: str, output_type: str) -> None:
        self.input_type = input_type
        self.output_type = output_type
        self.calls = 0
        self.seen: list[message.Message] = []

    def _record(self, msg: message.Message) -> None:
        self.calls += 1
        self.seen.append(msg)


class Echo(_Model):
    """Returns its input unchanged; with `report_tokens`, counts words as tokens both ways."""

    def __init__(self, input_type: str, output_type: str, report_tokens: bool) -> None:
        super().__init__(input_type, output_type)
        self.report_tokens = report_tokens

    def predict(self, msg: message.Message) -> Prediction:
        self._record(msg)
        words = len(str(getattr(msg, "text", "")).split()) if self.report_tokens else 0
        return Prediction(msg, input_tokens=words, output_tokens=words)


def echo(
    input_type: str = TEXT, output_type: str | None = None, report_tokens: bool = False
) -> Echo:
    """`output_type` defaults to `input_type`; another one only makes sense for type checks."""
    return Echo(input_type, output_type or input_type, report_tokens)


class KeywordClassifier(_Model):
    """Labels text by the first keyword it contains; hedging words lower the confidence."""

    def __init__(
        self,
        rules: Mapping[str, str],
        default: str,
        confidence: float,
        low_confidence_words: Sequence[str],
        low_confidence: float,
        input_type: str,
    ) -> None:
        super().__init__(input_type, CLASSIFICATION)
        self.rules = {keyword.lower(): label for keyword, label in rules.items()}
        self.default = default
        self.confidence = confidence
        self.low_confidence_words = [word.lower() for word in low_confidence_words]
        self.low_confidence = low_confidence
        self.labels = sorted({default, *self.rules.values()})

    def predict(self, msg: message.Message) -> payloads_pb2.Classification:
        self._record(msg)
        text = str(msg.text).lower()
        label = next(
            (label for keyword, label in self.rules.items() if keyword in text), self.default
        )
        hedged = any(word in text for word in self.low_confidence_words)
        confidence = self.low_confidence if hedged else self.confidence
        # The rest of the probability mass is shared by the other labels.
        others = [other for other in self.labels if other != label]
        rest = (1.0 - confidence) / len(others) if others else 0.0
        scores = dict.fromkeys(others, rest) | {label: confidence}
        return payloads_pb2.Classification(label=label, confidence=confidence, scores=scores)


def keyword_classifier(
    rules: Mapping[str, str],
    default: str,
    confidence: float = 0.9,
    low_confidence_words: Sequence[str] = (),
    low_confidence: float = 0.3,
    input_type: str = TEXT,
) -> KeywordClassifier:
    """`rules` maps keyword -> label; the input is Text or any message with a `text` field."""
    return KeywordClassifier(
        rules, default, confidence, low_confidence_words, low_confidence, input_type
    )


class Slow(_Model):
    """Echoes after `delay_ms`; counts calls in flight and calls cancelled by their caller.

    With `started`, each call appends a line to that file as it reaches the model, so that
    a test driving the stage in another process knows when its calls are in flight
    (`calls_started`).
    """

    def __init__(self, delay_ms: float, input_type: str, output_type: str, started: str) -> None:
        super().__init__(input_type, output_type)
        self.delay_s = delay_ms / 1000
        self.in_flight = 0
        self.cancelled = 0
        self.started = Path(started) if started else None

    async def predict(self, msg: message.Message) -> message.Message:
        self._record(msg)
        self.in_flight += 1
        if self.started is not None:
            with self.started.open("a") as announced:
                announced.write("call\n")
        try:
            await asyncio.sleep(self.delay_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        return msg


def slow(
    delay_ms: float, input_type: str = TEXT, output_type: str | None = None, started: str = ""
) -> Slow:
    return Slow(delay_ms, input_type, output_type or input_type, started)


def calls_started(path: Path) -> int:
    """How many calls a Slow stage given `started=path` has begun."""
    return len(path.read_text().splitlines()) if path.exists() else 0


class Failing(_Model):
    """Raises on every call, as a model with a bug would."""

    def __init__(self, error: str, input_type: str, output_type: str) -> None:
        super().__init__(input_type, output_type)
        self.error = error

    def predict(self, msg: message.Message) -> message.Message:
        self._record(msg)
        raise RuntimeError(self.error)


def failing(
    message: str = "model exploded", input_type: str = TEXT, output_type: str = TEXT
) -> Failing:
    return Failing(message, input_type, output_type)


class Unavailable(TuttiError):
    code = grpc.StatusCode.UNAVAILABLE


class Flaky(_Model):
    """Answers UNAVAILABLE to its first `failures` calls (or to all with -1), then echoes."""

    def __init__(self, failures: int, input_type: str) -> None:
        super().__init__(input_type, input_type)
        self.failures = failures

    def predict(self, msg: message.Message) -> message.Message:
        self._record(msg)
        if self.failures < 0 or self.calls <= self.failures:
            raise Unavailable("warming up")
        return msg


def flaky(failures: int = 1, input_type: str = TEXT) -> Flaky:
    return Flaky(failures, input_type)


class Hiccup(_Model):
    """Echoes; its first call (and every `every`-th after) takes `delay_ms`, the others none."""

    def __init__(self, delay_ms: float, every: int, input_type: str) -> None:
        super().__init__(input_type, input_type)
        self.delay_s = delay_ms / 1000
        self.every = every
        self.cancelled = 0

    async def predict(self, msg: message.Message) -> message.Message:
        self._record(msg)
        if (self.calls - 1) % self.every == 0:
            try:
                await asyncio.sleep(self.delay_s)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return msg


def hiccup(delay_ms: float = 2000, every: int = 2, input_type: str = TEXT) -> Hiccup:
    return Hiccup(delay_ms, every, input_type)


class FixedClassification(_Model):
    """Always answers the same Classification, whatever the input."""

    def __init__(self, answer: payloads_pb2.Classification, input_type: str) -> None:
        super().__init__(input_type, CLASSIFICATION)
        self.answer = answer

    def predict(self, msg: message.Message) -> payloads_pb2.Classification:
        self._record(msg)
        answer = payloads_pb2.Classification()
        answer.CopyFrom(self.answer)
        return answer


def fixed_classification(
    label: str, confidence: float = 0.9, input_type: str = TEXT
) -> FixedClassification:
    answer = payloads_pb2.Classification(
        label=label, confidence=confidence, scores={label: confidence}
    )
    return FixedClassification(answer, input_type)


def invalid_classification(input_type: str = TEXT) -> FixedClassification:
    """Answers confidence 1.5, which breaks Classification's constraints (lte 1.0)."""
    return FixedClassification(
        payloads_pb2.Classification(label="broken", confidence=1.5), input_type
    )


class Suffix(_Model):
    """Text -> Text with `text` appended, so a sequence's order shows in its output."""

    def __init__(self, text: str) -> None:
        super().__init__(TEXT, TEXT)
        self.text = text

    def predict(self, msg: message.Message) -> payloads_pb2.Text:
        self._record(msg)
        return payloads_pb2.Text(text=str(msg.text) + self.text)


def suffix(text: str) -> Suffix:
    return Suffix(text)
