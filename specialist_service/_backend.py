"""The port every model backend implements: one input message in, one Prediction out.

Backends import this module and nothing of each other; the servicer and the
factory import this module and the backends, never the other way round.
"""

from __future__ import annotations

import abc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from google.protobuf import message

__all__ = ["Backend", "Prediction", "cpu_ms_since"]


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


class Backend(abc.ABC):
    """A loaded model with its declared types; `predict` always fills `compute_ms`.

    `stream` and `aclose` have defaults: a backend that cannot stream answers
    in one piece, and one that holds no connections has nothing to close.
    """

    input_type: str
    output_type: str
    name: str
    version: str

    @abc.abstractmethod
    async def predict(self, msg: message.Message, timeout: float | None = None) -> Prediction:
        """Answer `msg`; `timeout` is the seconds left of the caller's deadline, if it set one."""

    async def stream(
        self, msg: message.Message, timeout: float | None = None
    ) -> AsyncIterator[str | Prediction]:
        """Text as it is generated, then the whole Prediction, always last."""
        yield await self.predict(msg, timeout)

    async def aclose(self) -> None:
        """Let go of what the backend holds open (connections); called once, at stop."""
        return None  # most backends hold nothing open


def cpu_ms_since(start: float) -> float:
    """Milliseconds of this thread's CPU since `start`, a time.thread_time() value."""
    return max(0.0, (time.thread_time() - start) * 1000)
