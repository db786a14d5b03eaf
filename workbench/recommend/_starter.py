"""The starter composition `tutti recommend` writes: one commented template per pattern."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from tutti.messages import CLASSIFICATION
from workbench.recommend._answers import (
    CASCADE_BELOW,
    COST_BUDGET_USD,
    ESCALATE_BELOW,
    LATENCY_BUDGET_MS,
    Answers,
    Latency,
    Pattern,
    fanout_wait_ms,
)

__all__ = ["starter_composition"]

# A starter with dozens of identical cases helps nobody; the comment says how to add more.
MAX_CASES = 8
TEXT = "tutti.v1.Text"


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
        f"    budget_ms: {fanout_wait_ms(latency)}  # wait at most this long for the branches\n"
        "    quorum: 2  # then merge if at least this many answered; else the request fails\n"
    )
