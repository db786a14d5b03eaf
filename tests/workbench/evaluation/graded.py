"""Stages whose answers the tests know in advance, for `tutti eval` and `tutti tune`.

An item's text is "LABEL CONFIDENCE", e.g. "billing 0.35". The cheap model answers
with that confidence, and is right exactly when it is at least 0.5 (else it answers
"not-LABEL"); the strong model is always right, with confidence 0.99.
"""

from __future__ import annotations

from google.protobuf import message

from tutti.v1 import payloads_pb2

__all__ = ["Graded", "cheap", "strong"]

RIGHT_FROM = 0.5


class Graded:
    input_type = "tutti.v1.Text"
    output_type = "tutti.v1.Classification"

    def __init__(self, always_right: bool) -> None:
        self.always_right = always_right

    def predict(self, msg: message.Message) -> payloads_pb2.Classification:
        label, number = str(msg.text).rsplit(" ", 1)  # type: ignore[attr-defined]
        confidence = float(number)
        if self.always_right:
            return payloads_pb2.Classification(label=label, confidence=0.99)
        right = confidence >= RIGHT_FROM
        return payloads_pb2.Classification(
            label=label if right else f"not-{label}", confidence=confidence
        )


def cheap() -> Graded:
    return Graded(always_right=False)


def strong() -> Graded:
    return Graded(always_right=True)
