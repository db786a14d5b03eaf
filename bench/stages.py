"""Trivial stages for the benchmark: an echo and a fixed classifier.

The bench copies this file next to the compositions it writes, so the
`python` backend finds the factories as `stages:echo` / `stages:classify`.
"""

from __future__ import annotations

from tutti.v1 import payloads_pb2


class Echo:
    input_type = "tutti.v1.Text"
    output_type = "tutti.v1.Text"

    def predict(self, message: payloads_pb2.Text) -> payloads_pb2.Text:
        return message


class Classify:
    input_type = "tutti.v1.Text"
    output_type = "tutti.v1.Classification"

    def __init__(self) -> None:
        self.answer = payloads_pb2.Classification(
            label="echo", confidence=0.9, scores={"echo": 0.9, "other": 0.1}
        )

    def predict(self, message: payloads_pb2.Text) -> payloads_pb2.Classification:
        return self.answer


def echo() -> Echo:
    return Echo()


def classify() -> Classify:
    return Classify()
