"""The composition `tutti recommend --data` writes over the models it trained, and what to run next."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from tutti.messages import CLASSIFICATION
from workbench.recommend._answers import COST_BUDGET_USD, LATENCY_BUDGET_MS, Cost, Latency, Pattern
from workbench.recommend._data_plan import DataPlan, StageModel
from workbench.recommend._stage_yaml import PRICES_NOTE, TEXT, StageText, scalar, stages_yaml

__all__ = ["MODELS_FOLDER", "data_composition", "model_file", "next_commands"]

# Beside the composition file: where its models are trained into and served from.
MODELS_FOLDER = "models"


def model_file(stage: str) -> str:
    """A stage's model file, relative to the composition's folder."""
    return f"{MODELS_FOLDER}/{stage}/model.joblib"


def next_commands(file: str) -> list[tuple[str, str]]:
    """The user's loop from here: each command, and what it does."""
    return [
        (
            f"tutti tune {file} --data DEV --max-cost-share 0.25 --write",
            "choose the threshold on held-out rows (DEV), for at most a quarter of the"
            " strong model's cost, and write it into the file",
        ),
        (
            f"tutti eval {file} --data TEST",
            "the composition against each model alone, on rows it never saw (TEST)",
        ),
        (f"tutti up {file}", "serve every stage and a router on 127.0.0.1"),
    ]


def data_composition(
    plan: DataPlan,
    *,
    name: str,
    file: str,
    data: str,
    departments: str,
    latency: Latency,
    cost: Cost,
) -> str:
    """YAML of the composition over `plan`'s trained models; `file`, `data` and `departments`
    are paths from the composition's folder, as the comments name them."""
    why = textwrap.fill(plan.reason, width=79, initial_indent="# ", subsequent_indent="# ")
    trained = "".join(
        f"#   {model.train_command(data, departments, f'{MODELS_FOLDER}/{model.stage}')}\n"
        for model in plan.models
    )
    labels = textwrap.fill(
        ", ".join(plan.labels), width=79, initial_indent="#   ", subsequent_indent="#   "
    )
    loop = "".join(
        f"#   {command}\n"
        + textwrap.fill(what, width=79, initial_indent="#       ", subsequent_indent="#       ")
        + "\n"
        for command, what in next_commands(file)
    )
    header = (
        f"# A {plan.pattern} composition `tutti recommend --data` wrote from {data}.\n"
        f"#\n{why}\n"
        "#\n"
        f"# Its models were trained on all {plan.rows} rows of {data} into {MODELS_FOLDER}/,"
        " as these\n"
        "# commands would train them (from this file's folder):\n"
        f"{trained}"
        "#\n"
        f"# The {len(plan.labels)} categories (labels) found in {data}:\n"
        f"{labels}\n"
        "#\n"
        f"{PRICES_NOTE}"
        "# Endpoints: `tutti up` serves each stage on a port of its own and points the\n"
        "# router there; the loopback endpoints below are where the router finds the\n"
        "# stages when you run them yourself.\n"
        f"composition: {scalar(name)}  # the name clients route to (tutti route {name} ...)\n"
        f"input: {TEXT}  # the sklearn stages classify its `text` field\n"
        f"output: {CLASSIFICATION}  # the label, its confidence and every label's score\n"
        f"budget: {{latency_ms: {LATENCY_BUDGET_MS[latency]}, cost_usd: {COST_BUDGET_USD[cost]:.2f}}}"
        f"  # per request: --latency {latency}, --cost {cost}\n"
        "\n"
        "stages:\n"
    )
    stages = stages_yaml([_stage(model) for model in plan.models])
    flow = _route(plan) if plan.pattern is Pattern.ROUTER else _cascade(plan)
    footer = (
        f"\n# Next, from this file's folder (DEV and TEST: labelled files like {data}, of rows\n"
        f"# the models were not trained on):\n{loop}"
    )
    return header + stages + flow + footer


def _stage(model: StageModel) -> StageText:
    return StageText(
        model.stage,
        CLASSIFICATION,
        model.role,
        model.price_usd,
        f"{{backend: sklearn, model: {model_file(model.stage)}}}",
    )


def _cascade(plan: DataPlan) -> str:
    steps: Sequence[str] = [model.stage for model in plan.models]
    return (
        "\nflow:\n"
        "  cascade:\n"
        f"    steps: [{', '.join(steps)}]  # tried in order; the next runs when a step fails or"
        " is unsure\n"
        f"    below: {plan.below}  # confidence under this asks the strong model;"
        " `tutti tune` chooses it\n"
    )


def _route(plan: DataPlan) -> str:
    cases = "".join(
        f"      {scalar(department)}: {stage}\n" for department, stage in plan.cases.items()
    )
    return (
        "\nflow:\n"
        "  route:\n"
        "    by: triage  # answers a department\n"
        "    cases:  # the triage's department -> its specialist, which answers the label\n"
        f"{cases}"
        "    default: strong  # required; every department above has its case\n"
        f"    escalate: {{below: {plan.below}, to: strong}}"
        "  # the triage unsure: the strong model answers\n"
    )
