"""Compile a composition file into a type-checked plan, reporting every error with its line.

`BUILDERS` is the one table of node kinds: a kind's YAML key and the
function that builds its plan node. A new kind is one builder here, one
case in `plan/_walk.py` and `plan/_expect.py`, and one coroutine in the
engine; the type checker finds the cases that are missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from router_service.composition._cascade import build_cascade
from router_service.composition._context import Builder, Compiler
from router_service.composition._escalate import build_escalate
from router_service.composition._fallback import build_fallback
from router_service.composition._fanout import build_fanout
from router_service.composition._read import Draft
from router_service.composition._route import build_route
from router_service.composition._sequence import build_sequence
from router_service.composition._split import build_split
from router_service.composition._stage import build_stage
from router_service.plan import Composition, StageProfile, expectations, stage_of
from tutti.errors import CompositionError
from tutti.located_yaml import LocatedMap
from tutti.messages import MessageTypes

__all__ = ["BUILDERS", "NODE_KINDS", "compile_composition"]

BUILDERS: Mapping[str, Builder] = MappingProxyType(
    {
        "stage": build_stage,
        "sequence": build_sequence,
        "route": build_route,
        "cascade": build_cascade,
        "escalate": build_escalate,
        "fanout": build_fanout,
        "split": build_split,
        "fallback": build_fallback,
    }
)
NODE_KINDS = tuple(BUILDERS)


def compile_composition(
    draft: Draft,
    described: Mapping[str, tuple[str, str]] | None = None,
    types: MessageTypes | None = None,
) -> Composition:
    """Compile the flow and check every type; raise CompositionError listing all problems.

    `described` maps a stage name to the (input, output) types its live
    Describe reported; declared types must agree with it.
    """
    return _compile(Compiler(draft, described or {}, types or MessageTypes(), BUILDERS))


def _compile(c: Compiler) -> Composition:
    document = c.draft.document
    flow = None
    if "flow" in document:
        flow = c.node(document["flow"], document.line_of("flow"))
    if isinstance(c.flows, LocatedMap):
        for name in c.flows:
            if name in c.draft.stages:
                c.error(c.flows.line_of(name), f"flow '{name}' has the name of a stage", name)
            if name not in c.compiled_flows:
                c.named_flow(name, c.flows.line_of(name))
    for spec in c.draft.stages.values():
        if not spec.is_merger:
            c.types_of(spec)  # reports bad types of stages the flow does not use, too
    line_in, line_out = document.line_of("input"), document.line_of("output")
    c.check_type(c.draft.input_type, line_in, "composition input")
    c.check_type(c.draft.output_type, line_out, "composition output")
    if flow is not None:
        if flow.input_type and c.draft.input_type and flow.input_type != c.draft.input_type:
            c.error(
                line_in,
                f"composition input is {c.draft.input_type} but its flow takes {flow.input_type}",
                stage_of(flow),
            )
        if flow.output_type and c.draft.output_type and flow.output_type != c.draft.output_type:
            c.error(
                line_out,
                f"composition output is {c.draft.output_type} but its flow returns {flow.output_type}",
                stage_of(flow),
            )
    warnings = [
        f"{c.draft.source}:{spec.line}: stage '{name}' is declared but never used"
        for name, spec in c.draft.stages.items()
        if name not in c.used
    ]
    if c.reporter.found or flow is None:
        raise CompositionError(sorted(c.reporter.found, key=lambda p: p.line))
    if c.draft.budget.latency_ms is not None:
        # The slowest path, counting each stage at its budget.
        budgets = {
            n: StageProfile(expected_ms=spec.budget_ms) for n, spec in c.draft.stages.items()
        }
        worst = expectations(flow, budgets)[id(flow)].ms
        if worst > c.draft.budget.latency_ms:
            warnings.append(
                f"{c.draft.source}: stage budgets on the slowest path add up to {worst:g} ms,"
                f" over the composition's latency budget of {c.draft.budget.latency_ms:g} ms"
            )
    return Composition(
        name=c.draft.name,
        source=c.draft.source,
        input_type=c.draft.input_type,
        output_type=c.draft.output_type,
        budget=c.draft.budget,
        stages=MappingProxyType(dict(c.draft.stages)),
        flow=flow,
        warnings=tuple(warnings),
        cache=c.draft.cache,
    )
