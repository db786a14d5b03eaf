"""`tutti recommend`: a few answers about the task in, a composition pattern and a starter file out.

`recommend(answers)` applies these rules; the first that matches wins:

    structure     condition                                 pattern
    stages        any                                       sequential
    perspectives  latency interactive and cost high         cascade (noted: gives up the vote)
    perspectives  otherwise                                 fan-out, majority vote
    varying       categories >= 2                           router; with escalate when cost is
                                                            medium/high and simple share >= 50
    varying       simple share >= 50                        cascade
    varying       otherwise                                 single model (a strong one)
    single        cost high and 50 <= simple share < 100    cascade
    single        otherwise                                 single model

The starter composition's budget follows the answers: latency interactive ->
800 ms, seconds -> 5000 ms, batch -> 60000 ms; cost sensitivity low -> $1.00,
medium -> $0.10, high -> $0.01 per request.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from tutti.messages import CLASSIFICATION

__all__ = [
    "CATEGORIES",
    "COST",
    "LATENCY",
    "SIMPLE_SHARE",
    "STRUCTURE",
    "AnswerError",
    "Answers",
    "Cost",
    "Latency",
    "Pattern",
    "Question",
    "Recommendation",
    "Structure",
    "ask",
    "gather",
    "questionnaire",
    "recommend",
    "starter_composition",
]

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class Structure(StrEnum):
    STAGES = "stages"
    VARYING = "varying"
    PERSPECTIVES = "perspectives"
    SINGLE = "single"


class Latency(StrEnum):
    INTERACTIVE = "interactive"
    SECONDS = "seconds"
    BATCH = "batch"


class Cost(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Pattern(StrEnum):
    SINGLE_MODEL = "single model"
    SEQUENTIAL = "sequential"
    ROUTER = "router"
    CASCADE = "cascade"
    FANOUT = "fan-out"


LATENCY_BUDGET_MS = {Latency.INTERACTIVE: 800, Latency.SECONDS: 5000, Latency.BATCH: 60000}
COST_BUDGET_USD = {Cost.LOW: 1.00, Cost.MEDIUM: 0.10, Cost.HIGH: 0.01}
ESCALATE_BELOW = 0.5
CASCADE_BELOW = 0.7
# A starter with dozens of identical cases helps nobody; the comment says how to add more.
MAX_CASES = 8
TEXT = "tutti.v1.Text"


@dataclass(frozen=True)
class Answers:
    """What the user said about the task."""

    structure: Structure
    simple_share: int  # percent of requests that are simple, 0-100
    latency: Latency
    cost: Cost
    categories: int  # known request categories; 0 = none


@dataclass(frozen=True)
class Recommendation:
    pattern: Pattern
    reason: str  # one paragraph citing the answers
    composition: str  # YAML text of a starter composition


@dataclass(frozen=True)
class _Decision:
    pattern: Pattern
    why: str
    escalate: bool = False  # router only: send unsure classifications to the general model


def recommend(answers: Answers) -> Recommendation:
    """The pattern the rules in this module's docstring pick, why, and a starter composition."""
    decision = _decide(answers)
    budget = (
        f"The starter budget is {LATENCY_BUDGET_MS[answers.latency]} ms per request for the"
        f" '{answers.latency}' latency need and ${COST_BUDGET_USD[answers.cost]:.2f} for"
        f" {answers.cost} cost sensitivity."
    )
    composition = starter_composition(
        decision.pattern, answers, escalate=decision.escalate, reason=decision.why
    )
    return Recommendation(
        pattern=decision.pattern, reason=f"{decision.why} {budget}", composition=composition
    )


def _decide(answers: Answers) -> _Decision:
    share, cost, latency = answers.simple_share, answers.cost, answers.latency
    if answers.structure is Structure.STAGES:
        return _Decision(
            Pattern.SEQUENTIAL,
            why="The task runs as distinct processing stages in order, so a sequential"
            " composition fits: each stage's output becomes the next stage's input, and each"
            " stage can be a model sized for its own step.",
        )
    if answers.structure is Structure.PERSPECTIVES:
        if latency is Latency.INTERACTIVE and cost is Cost.HIGH:
            return _Decision(
                Pattern.CASCADE,
                why="The task benefits from several independent opinions, but with an"
                " interactive latency need and high cost sensitivity, asking every model on every"
                " request is too slow and too dear; a cascade asks one model first and a second"
                f" only when the first is unsure (confidence under {CASCADE_BELOW}). Note: this"
                " gives up the independent vote; switch to a fan-out if quality matters more"
                " than cost.",
            )
        return _Decision(
            Pattern.FANOUT,
            why="The task benefits from several independent opinions, so a fan-out sends each"
            " request to three models at once and a merger takes the majority vote; for the"
            f" '{latency}' latency need it waits at most {_fanout_wait_ms(latency)} ms and"
            " merges when at least two of the three have answered.",
        )
    if answers.structure is Structure.VARYING:
        if answers.categories >= 2:
            routed = (
                f"Requests vary and fall into {answers.categories} known categories, so a router"
                " fits: a fast classifier labels each request, a specialist per category answers"
                " it, and labels without a case go to a general model."
            )
            if cost is not Cost.LOW and share >= 50:
                return _Decision(
                    Pattern.ROUTER,
                    why=f"{routed} With {cost} cost sensitivity and {share}% simple requests, the"
                    " specialists can be small, cheap models, and requests the classifier is"
                    f" unsure about (confidence under {ESCALATE_BELOW}) escalate to the general"
                    " model.",
                    escalate=True,
                )
            because = "cost sensitivity is low" if cost is Cost.LOW else f"only {share}% are simple"
            return _Decision(
                Pattern.ROUTER, why=f"{routed} No escalation is set up because {because}."
            )
        known = "no known categories" if answers.categories == 0 else "only one known category"
        if share >= 50:
            return _Decision(
                Pattern.CASCADE,
                why=f"Requests vary in difficulty with nothing to route on ({known}), and"
                f" {share}% are simple, so a cascade fits: a fast, cheap model answers first and a"
                " stronger model is asked only when the first is unsure (confidence under"
                f" {CASCADE_BELOW}).",
            )
        return _Decision(
            Pattern.SINGLE_MODEL,
            why=f"Requests vary with nothing to route on ({known}), and only {share}% are"
            " simple, so a cheap first model would usually defer anyway; one strong model is"
            " simpler. Revisit a cascade if the share of simple requests grows.",
        )
    if cost is Cost.HIGH and 50 <= share < 100:
        return _Decision(
            Pattern.CASCADE,
            why=f"It is one uniform task, but cost sensitivity is high and {share}% of requests"
            " are simple, so a cascade pays off: a cheap model answers the simple ones and a"
            f" stronger model only those it is unsure about (confidence under {CASCADE_BELOW}).",
        )
    return _Decision(
        Pattern.SINGLE_MODEL,
        why=f"It is one uniform task with {share}% simple requests and {cost} cost sensitivity,"
        " so one model serving every request is the simplest composition that fits; add stages"
        " around it when the task grows.",
    )


# -- the starter composition ---------------------------------------------------


def _stage(name: str, port: int, output: str, role: str) -> str:
    return (
        f"  # {role}\n"
        f"  {name}:\n"
        f'    endpoint: "127.0.0.1:{port}"\n'
        f"    input: {TEXT}\n"
        f"    output: {output}\n"
        f'    serve: {{backend: python, factory: "my_models:{name}"}}  # placeholder: replace it\n'
    )


def _stages(roles: Sequence[tuple[str, str, str]]) -> str:
    return "".join(
        _stage(name, 50061 + index, output, role)
        for index, (name, output, role) in enumerate(roles)
    )


def starter_composition(
    pattern: Pattern, answers: Answers, *, escalate: bool = False, reason: str = ""
) -> str:
    """YAML of a composition using `pattern`, commented for the user to fill in."""
    output = CLASSIFICATION if pattern in (Pattern.CASCADE, Pattern.FANOUT) else TEXT
    latency_ms = LATENCY_BUDGET_MS[answers.latency]
    why = textwrap.fill(reason, width=78, initial_indent="# ", subsequent_indent="# ")
    header = (
        f"# A starter {pattern} composition written by `tutti recommend`.\n"
        + (f"#\n{why}\n" if reason else "")
        + "#\n"
        "# Every stage is a placeholder: point each `serve:` factory at your own model\n"
        '# ("package.module:callable" returning an object with predict(message)), or remove\n'
        "# `serve:` and run the stage yourself at its endpoint. Then:\n"
        "#   tutti check <this file>    type-check it offline\n"
        "#   tutti up <this file>       start every stage and a router on 127.0.0.1\n"
        "composition: starter  # the name clients route to (tutti route starter ...); rename it\n"
        f"input: {TEXT}  # what callers send; for your own type, add its module under `imports:`\n"
        f"output: {output}  # what callers get back\n"
        f"budget: {{latency_ms: {latency_ms}, cost_usd: {COST_BUDGET_USD[answers.cost]:.2f}}}"
        "  # per request, from your latency need and cost sensitivity\n"
        "\n"
        "# Each stage: `endpoint` is where the router finds it (and where `tutti up` serves it),\n"
        "# `input`/`output` its message types, `serve` the model to start there.\n"
        "stages:\n"
    )
    if pattern is Pattern.ROUTER:
        return header + _router(answers.categories, escalate)
    if pattern is Pattern.FANOUT:
        return header + _fanout(answers.latency)
    if pattern is Pattern.CASCADE:
        return header + _CASCADE
    if pattern is Pattern.SEQUENTIAL:
        return header + _SEQUENTIAL
    return header + _SINGLE_MODEL


_SINGLE_MODEL = (
    _stages([("model", TEXT, "the one model that answers every request")])
    + "\nflow: model  # one stage answers every request\n"
)

_SEQUENTIAL = (
    _stages(
        [
            (
                "prepare",
                TEXT,
                "step 1: e.g. clean up the request or pull out what later steps need",
            ),
            ("answer", TEXT, "step 2: the main model"),
            ("review", TEXT, "step 3: e.g. check or format the answer"),
        ]
    )
    + "\nflow:\n"
    "  sequence: [prepare, answer, review]  # each output becomes the next input;"
    " add, remove or reorder steps\n"
)

_CASCADE = (
    _stages(
        [
            ("fast", CLASSIFICATION, "step 1: a fast, cheap model that answers most requests"),
            ("strong", CLASSIFICATION, "step 2: a stronger model for what step 1 is unsure of"),
        ]
    )
    + "\nflow:\n"
    "  cascade:\n"
    "    steps: [fast, strong]  # tried in order; the next runs when a step fails or is unsure\n"
    f"    below: {CASCADE_BELOW}  # confidence under this moves on to the next step\n"
    "    # the steps return a Classification; for another type that holds one, set `field`\n"
)


def _router(categories: int, escalate: bool) -> str:
    count = min(categories, MAX_CASES)
    labels = [f"category_{number}" for number in range(1, count + 1)]
    roles = [("triage", CLASSIFICATION, "the classifier: labels each request; keep it fast")]
    roles += [(label, TEXT, f"the specialist for {label}; rename it") for label in labels]
    roles.append(
        ("general", TEXT, "the general model: unknown labels, and unsure ones if escalated")
    )
    more = f"; add your other {categories - count} the same way" if categories > count else ""
    cases = "".join(f"      {label}: {label}\n" for label in labels)
    flow = (
        "\nflow:\n"
        "  route:\n"
        f"    by: triage  # must return {CLASSIFICATION}\n"
        f"    cases:  # your classifier's label -> the stage that answers it{more}\n"
        f"{cases}"
        "    default: general  # required: labels without a case go here\n"
    )
    if escalate:
        flow += (
            f"    escalate: {{below: {ESCALATE_BELOW}, to: general}}"
            "  # classifications under this confidence go to the general model\n"
        )
    return _stages(roles) + flow


def _fanout_wait_ms(latency: Latency) -> int:
    # A quarter of the request's budget is left for the merge and the hops around it.
    return LATENCY_BUDGET_MS[latency] * 3 // 4


def _fanout(latency: Latency) -> str:
    opinions = ["opinion_a", "opinion_b", "opinion_c"]
    role = "one independent opinion; use different models"
    return (
        _stages([(name, CLASSIFICATION, role) for name in opinions])
        + "  # combines the opinions; `tutti up` starts it, nothing to replace\n"
        f'  merger: {{endpoint: "127.0.0.1:{50061 + len(opinions)}", kind: merger}}\n'
        "\nflow:\n"
        "  fanout:\n"
        f"    branches: [{', '.join(opinions)}]  # every branch gets the same request at once\n"
        "    merge: {by: merger, strategy: majority_vote}  # or confidence_weighted_vote,"
        " probability_average, highest_confidence, first_valid\n"
        f"    budget_ms: {_fanout_wait_ms(latency)}  # wait at most this long for the branches\n"
        "    quorum: 2  # then merge if at least this many answered; else the request fails\n"
    )


# -- the questionnaire ---------------------------------------------------------


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


def questionnaire(
    *,
    structure: str | None,
    simple_share: int | None,
    latency: str | None,
    cost: str | None,
    categories: int | None,
    out: str,
    force: bool,
    interactive: bool | None = None,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> int:
    """Run `tutti recommend`: 0 written, 1 cannot write, 2 usage error, 130 the user quit."""
    path = Path(out)
    if path.exists() and not force:
        print(
            f"tutti recommend: {path} already exists; pass --force to overwrite it"
            " or --out to write elsewhere",
            file=sys.stderr,
        )
        return 1
    try:
        answers = gather(
            structure=structure,
            simple_share=simple_share,
            latency=latency,
            cost=cost,
            categories=categories,
            interactive=sys.stdin.isatty() if interactive is None else interactive,
            read=read,
            write=write,
        )
    except AnswerError as exc:
        print(f"tutti recommend: error: {exc}", file=sys.stderr)
        return 2
    except (EOFError, KeyboardInterrupt):
        print("\ntutti recommend: stopped; nothing written", file=sys.stderr)
        return 130
    recommendation = recommend(answers)
    try:
        # "x" keeps the refusal to overwrite even if the file appeared while we asked.
        with path.open("w" if force else "x", encoding="utf-8") as file:
            file.write(recommendation.composition)
    except FileExistsError:
        print(
            f"tutti recommend: {path} already exists; pass --force to overwrite it", file=sys.stderr
        )
        return 1
    except OSError as exc:
        print(f"tutti recommend: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    write(f"recommendation: {recommendation.pattern}")
    write(
        textwrap.fill(
            recommendation.reason, width=79, initial_indent="reason: ", subsequent_indent="  "
        )
    )
    write(f"wrote {path}; next: tutti check {path}")
    return 0
