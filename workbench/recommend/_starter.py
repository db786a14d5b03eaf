"""The starter composition `tutti recommend` writes without data: named placeholders to fill in.

Each stage's model is a placeholder `tutti check` reports until it is filled
in: a classifier's `model:` file that does not exist yet (train it), or a
`factory:` in a my_models.py that does not exist yet (write it).
"""

from __future__ import annotations

import textwrap

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
from workbench.recommend._stage_yaml import (
    CHEAP_USD,
    FIRST_PORT,
    PRICES_NOTE,
    SPECIALIST_USD,
    STRONG_USD,
    TEXT,
    StageText,
    stages_yaml,
)

__all__ = ["PLACEHOLDER_MODULE", "starter_composition"]

# The module every placeholder factory names; `tutti check` reports it missing until written.
PLACEHOLDER_MODULE = "my_models"


def _classifier(name: str, role: str, price_usd: float) -> StageText:
    return StageText(
        name,
        CLASSIFICATION,
        role,
        price_usd,
        f"{{backend: sklearn, model: models/{name}/model.joblib}}",
        f"placeholder: `tutti train DATA --model cheap --out models/{name}` writes it",
    )


def _factory(name: str, role: str, price_usd: float) -> StageText:
    return StageText(
        name,
        TEXT,
        role,
        price_usd,
        f'{{backend: python, factory: "{PLACEHOLDER_MODULE}:{name}"}}',
        f"placeholder: write {name}() in {PLACEHOLDER_MODULE}.py",
    )


_TRAIN = (
    "# - a classifier's `model:` file that does not exist yet: train it from your labelled\n"
    "#   texts (`tutti train DATA --model cheap --out models/NAME`), or let\n"
    "#   `tutti recommend --data DATA` train every model and write this file for you;\n"
)
_WRITE = (
    f"# - a `factory:` in {PLACEHOLDER_MODULE}.py, which does not exist yet: write it beside this\n"
    '#   file ("module:callable" returning an object with predict(message)), or point\n'
    "#   `factory` at your own model;\n"
)


def starter_composition(
    pattern: Pattern, answers: Answers, *, escalate: bool = False, reason: str = ""
) -> str:
    """YAML of a composition using `pattern`, commented for the user to fill in."""
    if pattern is Pattern.ROUTER:
        stages, flow = _router(answers.categories, escalate)
    elif pattern is Pattern.FANOUT:
        stages, flow = _fanout(answers.latency)
    elif pattern is Pattern.CASCADE:
        stages, flow = _cascade()
    elif pattern is Pattern.SEQUENTIAL:
        stages, flow = _sequential()
    else:
        stages, flow = _single_model()
    output = CLASSIFICATION if pattern in (Pattern.CASCADE, Pattern.FANOUT) else TEXT
    placeholders = (_TRAIN if any(s.output == CLASSIFICATION for s in stages) else "") + (
        _WRITE if any(s.output == TEXT for s in stages) else ""
    )
    why = textwrap.fill(reason, width=78, initial_indent="# ", subsequent_indent="# ")
    header = (
        f"# A starter {pattern} composition written by `tutti recommend`.\n"
        + (f"#\n{why}\n" if reason else "")
        + "#\n"
        "# Every stage's model is a named placeholder, and `tutti check` lists each one\n"
        "# until it is filled in:\n"
        f"{placeholders}"
        "# or remove a stage's `serve:` and run that stage yourself at its endpoint.\n"
        f"{PRICES_NOTE}"
        "# Then:\n"
        "#   tutti check <this file>    type-check it offline; no placeholder left\n"
        "#   tutti up <this file>       start every stage and a router on 127.0.0.1\n"
        "composition: starter  # the name clients route to (tutti route starter ...); rename it\n"
        f"input: {TEXT}  # what callers send; for your own type, add its module under `imports:`\n"
        f"output: {output}  # what callers get back\n"
        f"budget: {{latency_ms: {LATENCY_BUDGET_MS[answers.latency]},"
        f" cost_usd: {COST_BUDGET_USD[answers.cost]:.2f}}}"
        "  # per request, from your latency need and cost sensitivity\n"
        "\n"
        "# Each stage: `endpoint` is where the router finds it when you run the stage\n"
        "# yourself (`tutti up` serves it on a port of its own and points the router there),\n"
        "# `input`/`output` its message types, `price` what a call costs, `serve` its model.\n"
        "stages:\n"
    )
    return header + stages_yaml(stages) + flow


def _single_model() -> tuple[list[StageText], str]:
    model = _factory("model", "the one model that answers every request", STRONG_USD)
    return [model], "\nflow: model  # one stage answers every request\n"


def _sequential() -> tuple[list[StageText], str]:
    stages = [
        _factory(
            "prepare",
            "step 1: e.g. clean up the request or pull out what later steps need",
            SPECIALIST_USD,
        ),
        _factory("answer", "step 2: the main model", STRONG_USD),
        _factory("review", "step 3: e.g. check or format the answer", SPECIALIST_USD),
    ]
    flow = (
        "\nflow:\n"
        "  sequence: [prepare, answer, review]  # each output becomes the next input;"
        " add, remove or reorder steps\n"
    )
    return stages, flow


def _cascade() -> tuple[list[StageText], str]:
    stages = [
        _classifier("cheap", "step 1: a fast, cheap model that answers most requests", CHEAP_USD),
        _classifier("strong", "step 2: a stronger model for what step 1 is unsure of", STRONG_USD),
    ]
    flow = (
        "\nflow:\n"
        "  cascade:\n"
        "    steps: [cheap, strong]  # tried in order; the next runs when a step fails or is unsure\n"
        f"    below: {CASCADE_BELOW}  # confidence under this moves on to the next step\n"
        "    # the steps return a Classification; for another type that holds one, set `field`\n"
    )
    return stages, flow


def _router(categories: int, escalate: bool) -> tuple[list[StageText], str]:
    labels = [f"category_{number}" for number in range(1, categories + 1)]
    stages = [_classifier("triage", "the classifier: labels each request; keep it fast", CHEAP_USD)]
    stages += [
        _factory(label, f"the specialist for {label}; rename it", SPECIALIST_USD)
        for label in labels
    ]
    stages.append(
        _factory(
            "general",
            "the general model: unknown labels, and unsure ones if escalated",
            STRONG_USD,
        )
    )
    cases = "".join(f"      {label}: {label}\n" for label in labels)
    flow = (
        "\nflow:\n"
        "  route:\n"
        f"    by: triage  # must return {CLASSIFICATION}\n"
        "    cases:  # your classifier's label -> the stage that answers it\n"
        f"{cases}"
        "    default: general  # required: labels without a case go here\n"
    )
    if escalate:
        flow += (
            f"    escalate: {{below: {ESCALATE_BELOW}, to: general}}"
            "  # classifications under this confidence go to the general model\n"
        )
    return stages, flow


def _fanout(latency: Latency) -> tuple[list[StageText], str]:
    opinions = ["opinion_a", "opinion_b", "opinion_c"]
    role = "one independent opinion; use different models"
    stages = [_classifier(name, role, SPECIALIST_USD) for name in opinions]
    merger_port = FIRST_PORT + len(stages)
    flow = (
        "  # combines the opinions; `tutti up` starts it, nothing to replace; it costs nothing\n"
        f'  merger: {{endpoint: "127.0.0.1:{merger_port}", kind: merger}}\n'
        "\nflow:\n"
        "  fanout:\n"
        f"    branches: [{', '.join(opinions)}]  # every branch gets the same request at once\n"
        "    merge: {by: merger, strategy: majority_vote}  # or confidence_weighted_vote,"
        " probability_average, highest_confidence, first_valid\n"
        f"    budget_ms: {fanout_wait_ms(latency)}  # wait at most this long for the branches\n"
        "    quorum: 2  # then merge if at least this many answered; else the request fails\n"
    )
    return stages, flow
