"""Tutti's exceptions and the gRPC status code each one maps to.

    TuttiError                      INTERNAL (message hidden from clients)
    ├── ConfigError                 raised at start-up; carries file and line
    │   └── CompositionError        every error found in one composition file
    ├── RequestError                INVALID_ARGUMENT
    │   └── PayloadTypeError        the Any holds the wrong message type
    ├── NotFoundError               NOT_FOUND
    ├── StageError                  names the stage
    │   ├── OutputValidationError   INVALID_ARGUMENT, names stage and field
    │   ├── StageCallError          the stage answered with a non-OK status
    │   └── StageDeadlineError      DEADLINE_EXCEEDED
    ├── FanoutQuorumError           DEADLINE_EXCEEDED or UNAVAILABLE, names branches
    ├── CostCapError                RESOURCE_EXHAUSTED, names the cap
    └── OverloadedError             RESOURCE_EXHAUSTED

Only these messages reach clients; anything else becomes INTERNAL with a
generic message and a traceback in the server's log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

__all__ = [
    "INTERNAL_MESSAGE",
    "MAX_PUBLIC_MESSAGE",
    "AnswerTooLargeError",
    "CompositionError",
    "ConfigError",
    "CostCapError",
    "FanoutQuorumError",
    "NotFoundError",
    "OutputValidationError",
    "OverloadedError",
    "PayloadTypeError",
    "Problem",
    "RequestError",
    "StageCallError",
    "StageDeadlineError",
    "StageError",
    "TuttiError",
    "bounded",
    "check_answer_size",
    "echoed",
    "without_addresses",
]


INTERNAL_MESSAGE = "internal error; see the server log"
# The longest message a client gets; what a client sent is echoed shorter still.
MAX_PUBLIC_MESSAGE = 1000
MAX_ECHO = 120
_ADDRESS = re.compile(
    r"(?:ipv4:|ipv6:|unix:)?(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])(?::\d+)?"
)


def bounded(text: str, limit: int = MAX_PUBLIC_MESSAGE) -> str:
    """`text`, cut to `limit` characters with a note of how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... ({len(text):,} characters in all)"


def echoed(value: str) -> str:
    """What a client sent (a name, a type URL), as a message may quote it: kept short."""
    return bounded(value, MAX_ECHO)


def without_addresses(text: str) -> str:
    """`text` with network addresses taken out: where a stage runs is the server's business."""
    return _ADDRESS.sub("<address>", text)


class TuttiError(Exception):
    """Base of every error Tutti raises on purpose."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    @property
    def public_message(self) -> str:
        """What a client may be told: the message, unless the error is internal; never
        longer than MAX_PUBLIC_MESSAGE (a status travels in headers, which have a limit)."""
        return INTERNAL_MESSAGE if self.code is grpc.StatusCode.INTERNAL else bounded(str(self))


@dataclass(frozen=True)
class Problem:
    """One error found in a configuration file, with where it is."""

    file: str
    line: int
    message: str
    stage: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        subject = f"stage '{self.stage}': " if self.stage else ""
        return f"{where}: {subject}{self.message}"


class ConfigError(TuttiError):
    """A configuration file is wrong; raised before anything serves."""

    def __init__(self, problems: Problem | Sequence[Problem]) -> None:
        found = (problems,) if isinstance(problems, Problem) else tuple(problems)
        super().__init__("\n".join(str(p) for p in found))
        self.problems: tuple[Problem, ...] = found


class CompositionError(ConfigError):
    """Every error found while compiling one composition."""


class RequestError(TuttiError):
    """The client's request is malformed; names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PayloadTypeError(RequestError):
    """An Any payload holds a type other than the one declared."""


class NotFoundError(TuttiError):
    code = grpc.StatusCode.NOT_FOUND


class StageError(TuttiError):
    """A stage failed; the message names it."""

    code = grpc.StatusCode.UNAVAILABLE

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"stage '{stage}': {message}")
        self.stage = stage

    @property
    def public_message(self) -> str:
        # Built from the stage's name and what the stage itself told its caller.
        return bounded(str(self))


class OutputValidationError(StageError):
    """A stage's output broke its type's constraints; the next stage never sees it."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, stage: str, field: str, message: str) -> None:
        super().__init__(stage, f"output field '{field}' {message}")
        self.field = field


class StageCallError(StageError):
    """A stage answered with a non-OK status; the code is kept."""

    def __init__(self, stage: str, code: grpc.StatusCode, message: str) -> None:
        super().__init__(stage, f"{code.name}: {message}")
        self.code = code
        self.stage_code = code


class StageDeadlineError(StageError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class FanoutQuorumError(TuttiError):
    """Too few fan-out branches answered in time."""

    def __init__(self, node: str, missing: Sequence[str], code: grpc.StatusCode) -> None:
        super().__init__(f"{node}: quorum not reached; missing branches: {', '.join(missing)}")
        self.missing = tuple(missing)
        self.code = code


class CostCapError(TuttiError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class OverloadedError(TuttiError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class AnswerTooLargeError(TuttiError):
    """An answer bigger than the message limit: refused here, before grpc would fail to send it."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the answer is {size:,} bytes, over the {limit:,}-byte message limit"
            " (the server's --max-message-mb)"
        )


def check_answer_size(response: Any, limit: int) -> None:
    """Raise AnswerTooLargeError when `response` (a protobuf message) exceeds `limit` bytes."""
    if limit and response.ByteSize() > limit:
        raise AnswerTooLargeError(response.ByteSize(), limit)
