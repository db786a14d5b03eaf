"""The rules of `tutti recommend`: from the answers about the task to a composition pattern.

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

With labelled data (`tutti recommend --data`) no question is asked and the
rules of `_data_plan` apply instead: with departments, a router (a cheap
triage, a specialist per department, the strong model for an unsure triage);
else a cascade of the cheap model and the strong one.

The starter composition's budget follows the answers: latency interactive ->
800 ms, seconds -> 5000 ms, batch -> 60000 ms; cost sensitivity low -> $1.00,
medium -> $0.10, high -> $0.01 per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.recommend._answers import (
    CASCADE_BELOW,
    COST_BUDGET_USD,
    ESCALATE_BELOW,
    LATENCY_BUDGET_MS,
    Answers,
    Cost,
    Latency,
    Pattern,
    Structure,
    fanout_wait_ms,
)
from workbench.recommend._starter import starter_composition

__all__ = ["Recommendation", "recommend"]


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
            f" '{latency}' latency need it waits at most {fanout_wait_ms(latency)} ms and"
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
