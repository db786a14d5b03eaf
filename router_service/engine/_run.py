"""The state of one request as it runs, and what one flow node hands back."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableSequence
from dataclasses import dataclass, field

from google.protobuf import any_pb2, message
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from tutti.v1 import router_pb2

__all__ = ["Result", "Run"]


@dataclass
class Result:
    """A node's output: the payload as received, and its decoded form if anyone decoded it."""

    payload: any_pb2.Any
    decoded: message.Message | None = None


@dataclass
class Run:
    """The state of one request: its deadline, cost so far, what ran and what the flow decided."""

    deadline: float | None  # time.monotonic() value
    cost_cap: float | None
    no_cache: bool = False
    # A list, or the repeated field of the Execution the answer will carry (no copy at the end).
    stages: MutableSequence[router_pb2.StageRun] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    # Like `stages`: a list, or the Execution's own repeated field.
    decisions: MutableSequence[router_pb2.Decision] = field(default_factory=list)
    cost: float = 0.0
    # Receives the answering stage's text as it is generated (RouteCompletion), if set.
    deltas: Callable[[str], None] | None = None

    def decide(
        self,
        decision: router_pb2.Decision,
        attributes: Callable[[], Mapping[str, AttributeValue]],
    ) -> None:
        """Record a flow node's decision for the client, and on the node's span when traced.

        `attributes` is called only when the span records: untraced, a decision costs
        one small message.
        """
        self.decisions.append(decision)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(attributes())

    def remaining(self) -> float | None:
        """Seconds left before the request's deadline; None when it has none."""
        return None if self.deadline is None else self.deadline - time.monotonic()
