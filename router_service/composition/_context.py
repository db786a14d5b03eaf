"""The compiler's state and the checks every node builder shares (types, keys, children).

Builders, one module per node kind, are functions of a `Compiler`; the
table of them is handed in by `_compiler.py`, so no builder imports another.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from router_service.composition._read import Draft
from router_service.plan import Escalation, Node, StageSpec, stage_of
from tutti.config import Problems, read_number, unknown_keys
from tutti.located_yaml import LocatedList, LocatedMap, line_of
from tutti.messages import CLASSIFICATION, MessageTypes, follow_to_classification

__all__ = ["MAX_DEPTH", "Builder", "Compiler", "as_list", "did_you_mean"]

# Deeper flows are refused when they load.
MAX_DEPTH = 32

Builder = Callable[["Compiler", Any, int], Node | None]


class Compiler:
    """One composition being compiled: its draft, what Describe said, and the problems found."""

    def __init__(
        self,
        draft: Draft,
        described: Mapping[str, tuple[str, str]],
        types: MessageTypes,
        builders: Mapping[str, Builder],
    ) -> None:
        self.builders = builders
        self.draft = draft
        self.reporter = Problems(draft.source)
        self.reporter.found.extend(draft.problems)
        self.described = described
        self.types = types
        self.stage_types: dict[str, tuple[str, str]] = {}
        raw_flows = draft.document.get("flows") or {}
        self.flows: Mapping[str, Any] = raw_flows if isinstance(raw_flows, Mapping) else {}
        self.compiled_flows: dict[str, Node | None] = {}
        self.flow_stack: list[str] = []
        self.used: set[str] = set()
        # ids of the mappings and lists being compiled, to catch a YAML anchor inside itself.
        self.visiting: set[int] = set()
        self.depth = 0

    def error(self, line: int, message: str, stage: str = "") -> None:
        self.reporter.at_line(line, message, stage)

    # -- types -------------------------------------------------------------

    def check_type(self, name: str, line: int, what: str, stage: str = "") -> None:
        if name and not self.types.knows(name):
            self.error(
                line, f"{what} type '{name}' is unknown (add its module to 'imports')", stage
            )

    def types_of(self, spec: StageSpec) -> tuple[str, str]:
        known = self.stage_types.get(spec.name)
        if known is not None:
            return known
        input_type, output_type = spec.input, spec.output
        live = self.described.get(spec.name)
        if live is not None:
            for declared, actual, what in (
                (spec.input, live[0], "input"),
                (spec.output, live[1], "output"),
            ):
                if declared and declared != actual:
                    self.error(
                        spec.line,
                        f"declares {what} {declared} but the live stage says {actual}",
                        spec.name,
                    )
            input_type, output_type = input_type or live[0], output_type or live[1]
        if not spec.is_merger and not (input_type and output_type):
            self.error(
                spec.line,
                "input/output types unknown: declare 'input' and 'output', or make the stage reachable",
                spec.name,
            )
        self.check_type(input_type, spec.line, "input", spec.name)
        self.check_type(output_type, spec.line, "output", spec.name)
        self.stage_types[spec.name] = (input_type, output_type)
        return input_type, output_type

    def same_types(self, nodes: list[tuple[Node, int]], what: str) -> tuple[str, str]:
        """Check that nodes in parallel take and return one type; return it."""
        first = nodes[0][0]
        for node, line in nodes[1:]:
            for mine, theirs, side in (
                (node.input_type, first.input_type, "input"),
                (node.output_type, first.output_type, "output"),
            ):
                if mine and theirs and mine != theirs:
                    self.error(
                        line,
                        f"{what}: '{node.label}' has {side} {mine} but '{first.label}' has {theirs}",
                        stage_of(node),
                    )
        return first.input_type, first.output_type

    # -- nodes -------------------------------------------------------------

    def node(self, raw: Any, line: int) -> Node | None:
        line = line_of(raw, line)
        if not isinstance(raw, Mapping | list):
            return self.node_of(raw, line)
        if id(raw) in self.visiting:
            self.error(line, "flow node refers to itself (YAML anchor cycle)")
            return None
        if self.depth >= MAX_DEPTH:
            self.error(line, f"flow nodes nest deeper than {MAX_DEPTH} levels")
            return None
        self.visiting.add(id(raw))
        self.depth += 1
        try:
            return self.node_of(raw, line)
        finally:
            self.depth -= 1
            self.visiting.discard(id(raw))

    def node_of(self, raw: Any, line: int) -> Node | None:
        if isinstance(raw, str):
            return self.reference(raw, line)
        if not isinstance(raw, Mapping) or len(raw) != 1:
            keys = f" (found keys: {', '.join(map(str, raw))})" if isinstance(raw, Mapping) else ""
            self.error(
                line,
                f"a flow node is a stage name or a mapping with one of {', '.join(self.builders)}{keys}",
            )
            return None
        ((kind, body),) = raw.items()
        if kind not in self.builders:
            hint = did_you_mean(kind, list(self.builders))
            self.error(
                line, f"unknown flow node '{kind}'{hint} (allowed: {', '.join(self.builders)})"
            )
            return None
        body_line = raw.line_of(kind) if isinstance(raw, LocatedMap) else line
        return self.builders[kind](self, body, line_of(body, body_line))

    def reference(self, name: str, line: int) -> Node | None:
        if name in self.draft.stages:
            return self.builders["stage"](self, name, line)
        if name in self.flows:
            return self.named_flow(name, line)
        hint = did_you_mean(name, [*self.draft.stages, *self.flows])
        self.error(line, f"unknown stage '{name}'{hint}", name)
        return None

    def named_flow(self, name: str, line: int) -> Node | None:
        if name in self.flow_stack:
            cycle = " -> ".join([*self.flow_stack[self.flow_stack.index(name) :], name])
            self.error(line, f"cycle in flows: {cycle}", name)
            return None
        if name in self.compiled_flows:
            return self.compiled_flows[name]
        self.flow_stack.append(name)
        flows_line = self.flows.line_of(name) if isinstance(self.flows, LocatedMap) else line
        compiled = self.node(self.flows[name], flows_line)
        self.flow_stack.pop()
        self.compiled_flows[name] = compiled
        return compiled

    def children(self, body: Any, line: int, what: str, minimum: int) -> list[tuple[Node, int]]:
        if not isinstance(body, list) or len(body) < minimum:
            self.error(line, f"'{what}' needs a list of at least {minimum} node(s)")
            return []
        nodes = []
        for index, item in enumerate(body):
            item_line = body.line_of(index) if isinstance(body, LocatedList) else line
            node = self.node(item, item_line)
            if node is not None:
                nodes.append((node, item_line))
        return nodes

    def keys(
        self, body: Any, line: int, what: str, allowed: tuple[str, ...], required: tuple[str, ...]
    ) -> bool:
        if not isinstance(body, LocatedMap):
            self.error(line, f"'{what}' must be a mapping with keys {', '.join(allowed)}")
            return False
        for key in unknown_keys(body, allowed):
            self.error(
                body.line_of(key), f"unknown key '{key}' in {what} (allowed: {', '.join(allowed)})"
            )
        for key in required:
            if key not in body:
                self.error(body.line, f"{what} without '{key}'")
        return all(key in body for key in required)

    def at(self, mapping: Any, stage: str = "") -> Any:
        return self.reporter.located(mapping, stage)

    def tiers(self, raw: Any, line: int, stage: str = "") -> tuple[Escalation, ...]:
        """`{below, to}` or a list of them, sorted lowest threshold first."""
        found = []
        for raw_tier, tier_line in as_list(raw, line):
            if not self.keys(raw_tier, tier_line, "escalate", ("below", "to"), ("below", "to")):
                continue
            below = read_number(raw_tier, "below", self.at(raw_tier, stage), minimum=0.0)
            if below is not None and below > 1.0:
                self.error(
                    raw_tier.line_of("below"),
                    f"escalate 'below' is a confidence in [0, 1], not {below:g}",
                    stage,
                )
            target = self.node(raw_tier["to"], raw_tier.line_of("to"))
            if target is not None and below is not None:
                found.append(Escalation(below=below, to=target))
        return tuple(sorted(found, key=lambda e: e.below))

    def check_confidence_path(self, type_name: str, field: str, line: int, what: str) -> None:
        """The output must be a Classification, or hold one at `field`."""
        if not type_name or not self.types.knows(type_name):
            return
        descriptor, index, why = follow_to_classification(
            self.types.message_class(type_name).DESCRIPTOR, field
        )
        if why:
            part = [p for p in field.split(".") if p][index]
            if why in ("repeated", "map"):
                self.error(
                    line,
                    f"{what} 'field': '{part}' of {descriptor.full_name} is a {why} field;"
                    " confidence is read from a single message",
                )
            else:
                self.error(
                    line, f"{what} 'field': {descriptor.full_name} has no message field '{part}'"
                )
            return
        if descriptor.full_name != CLASSIFICATION:
            where = f"'{field}' of {type_name}" if field else type_name
            self.error(
                line,
                f"{what} reads confidence from {where}, which is {descriptor.full_name}, not {CLASSIFICATION}; set 'field'",
            )


def as_list(raw: Any, line: int) -> list[tuple[Any, int]]:
    if raw is None:
        return []
    if isinstance(raw, LocatedList):
        return [(item, raw.line_of(i)) for i, item in enumerate(raw)]
    return [(raw, line_of(raw, line))]


def did_you_mean(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
