"""The questions of `tutti recommend`: each answered by its flag or at the prompt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from workbench.recommend._answers import Answers, Cost, Latency, Structure

__all__ = [
    "CATEGORIES",
    "COST",
    "LATENCY",
    "SIMPLE_SHARE",
    "STRUCTURE",
    "AnswerError",
    "Question",
    "ask",
    "gather",
]

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class AnswerError(Exception):
    """A flag is missing where no one can be asked, or its value is invalid: a usage error."""


@dataclass(frozen=True)
class Question(Generic[T]):
    """One question, answered by its flag or at the prompt."""

    flag: str
    text: str
    default: str
    parse: Callable[[str], T]  # raises ValueError saying what it expected
    choices: tuple[tuple[str, str], ...] = ()  # (value, meaning), shown at the prompt


def _one_of(kind: type[E]) -> Callable[[str], E]:
    def parse(text: str) -> E:
        try:
            return kind(text.strip().lower())
        except ValueError:
            raise ValueError(f"expected one of {', '.join(kind)}, not {text.strip()!r}") from None

    return parse


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip().removesuffix("%"))
        except ValueError:
            raise ValueError(f"expected a whole number, not {text.strip()!r}") from None
        if value < low or (high is not None and value > high):
            expected = f"{low}-{high}" if high is not None else f"at least {low}"
            raise ValueError(f"expected {expected}, not {value}")
        return value

    return parse


STRUCTURE = Question(
    "--structure",
    "How is the task structured?",
    "single",
    _one_of(Structure),
    (
        ("stages", "distinct processing stages, in order"),
        ("varying", "requests vary in difficulty or category"),
        ("perspectives", "benefits from several independent opinions"),
        ("single", "one uniform task"),
    ),
)
SIMPLE_SHARE = Question(
    "--simple-share",
    "What share of requests is simple, in percent (0-100)?",
    "50",
    _whole_number(0, 100),
)
LATENCY = Question(
    "--latency",
    "How soon must an answer come back?",
    "seconds",
    _one_of(Latency),
    (
        ("interactive", "a person is waiting: under a second"),
        ("seconds", "a few seconds is fine"),
        ("batch", "offline: a minute is fine"),
    ),
)
COST = Question(
    "--cost",
    "How sensitive is the cost per request?",
    "medium",
    _one_of(Cost),
    (
        ("low", "quality first"),
        ("medium", "balance cost and quality"),
        ("high", "every cent counts"),
    ),
)
CATEGORIES = Question(
    "--categories",
    "How many known categories do requests fall into (0 = none)?",
    "0",
    _whole_number(0),
)


def ask(question: Question[T], read: Callable[[str], str], write: Callable[[str], None]) -> T:
    """Ask until the answer parses; Enter takes the default. EOFError and KeyboardInterrupt pass."""
    write(question.text)
    for value, meaning in question.choices:
        write(f"  {value:<13} {meaning}")
    prompt = f"{question.flag.removeprefix('--')} [{question.default}]: "
    while True:
        text = read(prompt).strip() or question.default
        try:
            return question.parse(text)
        except ValueError as exc:
            write(f"  {exc}; try again")


def gather(
    *,
    structure: str | None,
    simple_share: int | None,
    latency: str | None,
    cost: str | None,
    categories: int | None,
    interactive: bool,
    read: Callable[[str], str],
    write: Callable[[str], None],
) -> Answers:
    """The answers from the flags given, asking for the rest when `interactive`."""
    given: list[tuple[Question[Any], object]] = [
        (STRUCTURE, structure),
        (SIMPLE_SHARE, simple_share),
        (LATENCY, latency),
        (COST, cost),
        (CATEGORIES, categories),
    ]
    for question, value in given:
        if value is not None:
            _from_flag(question, value)  # a bad flag fails before anything is asked
    missing = [question.flag for question, value in given if value is None]
    if missing and not interactive:
        raise AnswerError(
            f"missing {', '.join(missing)}: stdin is not a terminal, so every answer must come"
            " from a flag (see tutti recommend --help)"
        )
    if missing:
        write("A few questions about the task; Enter takes the default in brackets.")

    def answer(question: Question[T], value: object) -> T:
        return _from_flag(question, value) if value is not None else ask(question, read, write)

    return Answers(
        structure=answer(STRUCTURE, structure),
        simple_share=answer(SIMPLE_SHARE, simple_share),
        latency=answer(LATENCY, latency),
        cost=answer(COST, cost),
        categories=answer(CATEGORIES, categories),
    )


def _from_flag(question: Question[T], value: object) -> T:
    try:
        return question.parse(str(value))
    except ValueError as exc:
        raise AnswerError(f"{question.flag}: {exc}") from None
