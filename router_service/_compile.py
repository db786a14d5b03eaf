"""Compile a composition file into a type-checked plan, reporting every error with its line."""

from __future__ import annotations

import difflib
import importlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from router_service._plan import (
    CascadeNode,
    Composition,
    EscalateNode,
    Escalation,
    FallbackNode,
    FanoutNode,
    Node,
    RouteNode,
    SequenceNode,
    SplitNode,
    StageNode,
)
from router_service._profile import StageProfile, expectations
from router_service._spec import (
    Budget,
    CacheBackend,
    Reporter,
    StageSpec,
    parse_budget,
    parse_cache_backend,
    parse_stage,
)
from tutti.config import read_number, unknown_keys
from tutti.errors import CompositionError, ConfigError, Problem
from tutti.located_yaml import LocatedList, LocatedMap, line_of, load_located
from tutti.messages import CLASSIFICATION, MessageTypes, follow_to_classification
from tutti.v1 import merger_pb2

__all__ = ["CLASSIFICATION", "STRATEGIES", "Draft", "compile_composition", "read_composition"]

TOP_KEYS = (
    "composition",
    "description",
    "input",
    "output",
    "budget",
    "stages",
    "flow",
    "flows",
    "imports",
    "cache",
)
NODE_KINDS = ("stage", "sequence", "route", "cascade", "escalate", "fanout", "split", "fallback")
# Limits a composition must stay within: deeper or wider flows are refused when they load.
MAX_DEPTH = 32
MAX_FANOUT_WIDTH = 16
STRATEGIES = {
    "majority_vote": merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE,
    "confidence_weighted_vote": merger_pb2.MERGE_STRATEGY_CONFIDENCE_WEIGHTED_VOTE,
    "probability_average": merger_pb2.MERGE_STRATEGY_PROBABILITY_AVERAGE,
    "highest_confidence": merger_pb2.MERGE_STRATEGY_HIGHEST_CONFIDENCE,
    "first_valid": merger_pb2.MERGE_STRATEGY_FIRST_VALID,
}


@dataclass(frozen=True)
class Draft:
    """A composition file read and its stages parsed, before the flow is compiled.

    The router calls Describe on the stages between the two steps.
    """

    name: str
    source: str
    input_type: str
    output_type: str
    budget: Budget
    stages: Mapping[str, StageSpec]
    document: LocatedMap
    problems: tuple[Problem, ...]
    cache: CacheBackend = field(default_factory=CacheBackend)


def read_composition(path: str | Path, text: str | None = None) -> Draft:
    """Read a composition file; YAML that cannot be parsed at all raises ConfigError."""
    source = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(Problem(source, 0, f"cannot read: {exc.strerror or exc}")) from exc
    document, duplicates = load_located(text, source)
    reporter = Reporter(source)
    reporter.problems.extend(duplicates)
    if not isinstance(document, LocatedMap):
        raise ConfigError(
            Problem(source, line_of(document, 1), "a composition must be a YAML mapping")
        )
    report = reporter.at(document)
    for key in unknown_keys(document, TOP_KEYS):
        report(key, f"unknown key '{key}' (allowed: {', '.join(TOP_KEYS)})")
    for key in ("composition", "input", "output", "stages", "flow"):
        if key not in document:
            reporter.add(document.line, f"missing required key '{key}'")
    name = document.get("composition", "")
    if not isinstance(name, str):
        report("composition", "'composition' must be a name")
        name = ""
    _import_modules(document, reporter)
    stages: dict[str, StageSpec] = {}
    raw_stages = document.get("stages") or {}
    if isinstance(raw_stages, LocatedMap):
        for stage_name, data in raw_stages.items():
            spec = parse_stage(stage_name, data, raw_stages.line_of(stage_name), reporter)
            if spec is not None:
                stages[stage_name] = spec
    else:
        report("stages", "'stages' must be a mapping of stage name to stage")
    return Draft(
        name=name,
        source=source,
        input_type=str(document.get("input", "")),
        output_type=str(document.get("output", "")),
        budget=parse_budget(document.get("budget"), document.line_of("budget"), reporter),
        stages=stages,
        document=document,
        cache=parse_cache_backend(document.get("cache"), document.line_of("cache"), reporter),
        problems=tuple(reporter.problems),
    )


def _import_modules(document: LocatedMap, reporter: Reporter) -> None:
    """Import the modules named in `imports`, so that their message types are known."""
    modules = document.get("imports")
    if modules is None:
        return
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        # A bare string would otherwise be imported one character at a time.
        reporter.add(
            document.line_of("imports"),
            "'imports' must be a list of module names such as [acme.v1.orders_pb2]",
        )
        return
    for index, module in enumerate(modules):
        line = (
            modules.line_of(index)
            if isinstance(modules, LocatedList)
            else document.line_of("imports")
        )
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - a module's own code may raise anything
            reporter.add(
                line,
                f"cannot import '{module}' for its message types: {type(exc).__name__}: {exc}",
            )


def compile_composition(
    draft: Draft,
    described: Mapping[str, tuple[str, str]] | None = None,
    types: MessageTypes | None = None,
) -> Composition:
    """Compile the flow and check every type; raise CompositionError listing all problems.

    `described` maps a stage name to the (input, output) types its live
    Describe reported; declared types must agree with it.
    """
    compiler = _Compiler(draft, described or {}, types or MessageTypes())
    return compiler.compile()


class _Compiler:
    def __init__(
        self, draft: Draft, described: Mapping[str, tuple[str, str]], types: MessageTypes
    ) -> None:
        self.draft = draft
        self.reporter = Reporter(draft.source)
        self.reporter.problems.extend(draft.problems)
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
        self.reporter.add(line, message, stage)

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
                        _stage_of(node),
                    )
        return first.input_type, first.output_type

    # -- nodes -------------------------------------------------------------

    def compile(self) -> Composition:
        document = self.draft.document
        flow = None
        if "flow" in document:
            flow = self.node(document["flow"], document.line_of("flow"))
        if isinstance(self.flows, LocatedMap):
            for name in self.flows:
                if name in self.draft.stages:
                    self.error(
                        self.flows.line_of(name), f"flow '{name}' has the name of a stage", name
                    )
                if name not in self.compiled_flows:
                    self.named_flow(name, self.flows.line_of(name))
        for spec in self.draft.stages.values():
            if not spec.is_merger:
                self.types_of(spec)  # reports bad types of stages the flow does not use, too
        line_in, line_out = document.line_of("input"), document.line_of("output")
        self.check_type(self.draft.input_type, line_in, "composition input")
        self.check_type(self.draft.output_type, line_out, "composition output")
        if flow is not None:
            if (
                flow.input_type
                and self.draft.input_type
                and flow.input_type != self.draft.input_type
            ):
                self.error(
                    line_in,
                    f"composition input is {self.draft.input_type} but its flow takes {flow.input_type}",
                    _stage_of(flow),
                )
            if (
                flow.output_type
                and self.draft.output_type
                and flow.output_type != self.draft.output_type
            ):
                self.error(
                    line_out,
                    f"composition output is {self.draft.output_type} but its flow returns {flow.output_type}",
                    _stage_of(flow),
                )
        warnings = [
            f"{self.draft.source}:{spec.line}: stage '{name}' is declared but never used"
            for name, spec in self.draft.stages.items()
            if name not in self.used
        ]
        if self.reporter.problems or flow is None:
            raise CompositionError(sorted(self.reporter.problems, key=lambda p: p.line))
        if self.draft.budget.latency_ms is not None:
            # The slowest path, counting each stage at its budget.
            budgets = {
                n: StageProfile(expected_ms=spec.budget_ms) for n, spec in self.draft.stages.items()
            }
            worst = expectations(flow, budgets)[id(flow)].ms
            if worst > self.draft.budget.latency_ms:
                warnings.append(
                    f"{self.draft.source}: stage budgets on the slowest path add up to {worst:g} ms,"
                    f" over the composition's latency budget of {self.draft.budget.latency_ms:g} ms"
                )
        return Composition(
            name=self.draft.name,
            source=self.draft.source,
            input_type=self.draft.input_type,
            output_type=self.draft.output_type,
            budget=self.draft.budget,
            stages=MappingProxyType(dict(self.draft.stages)),
            flow=flow,
            warnings=tuple(warnings),
            cache=self.draft.cache,
        )

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
                f"a flow node is a stage name or a mapping with one of {', '.join(NODE_KINDS)}{keys}",
            )
            return None
        ((kind, body),) = raw.items()
        if kind not in NODE_KINDS:
            hint = _did_you_mean(kind, NODE_KINDS)
            self.error(line, f"unknown flow node '{kind}'{hint} (allowed: {', '.join(NODE_KINDS)})")
            return None
        body_line = raw.line_of(kind) if isinstance(raw, LocatedMap) else line
        build: Callable[[Any, int], Node | None] = getattr(self, f"node_{kind}")
        return build(body, line_of(body, body_line))

    def reference(self, name: str, line: int) -> Node | None:
        if name in self.draft.stages:
            return self.node_stage(name, line)
        if name in self.flows:
            return self.named_flow(name, line)
        hint = _did_you_mean(name, [*self.draft.stages, *self.flows])
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

    def node_stage(self, body: Any, line: int) -> Node | None:
        if not isinstance(body, str) or body not in self.draft.stages:
            hint = _did_you_mean(str(body), list(self.draft.stages))
            self.error(line, f"unknown stage '{body}'{hint}", str(body))
            return None
        spec = self.draft.stages[body]
        self.used.add(body)
        if spec.is_merger:
            self.error(line, "a merger stage can only be used as a fan-out's merge", body)
            return None
        input_type, output_type = self.types_of(spec)
        return StageNode(stage=spec, line=line, input_type=input_type, output_type=output_type)

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

    def node_sequence(self, body: Any, line: int) -> Node | None:
        steps = self.children(body, line, "sequence", 1)
        if not steps:
            return None
        for (previous, _), (step, step_line) in itertools.pairwise(steps):
            if previous.output_type and step.input_type and previous.output_type != step.input_type:
                self.error(
                    step_line,
                    f"type mismatch: '{previous.label}' outputs {previous.output_type}"
                    f" but '{step.label}' takes {step.input_type}",
                    _stage_of(step),
                )
        return SequenceNode(
            steps=tuple(node for node, _ in steps),
            line=line,
            input_type=steps[0][0].input_type,
            output_type=steps[-1][0].output_type,
        )

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

    def node_route(self, body: Any, line: int) -> Node | None:
        if not self.keys(
            body, line, "route", ("by", "cases", "default", "escalate"), ("by", "default")
        ):
            return None
        by_name = body["by"]
        by_line = body.line_of("by")
        by = self.draft.stages.get(by_name) if isinstance(by_name, str) else None
        if by is None:
            self.error(by_line, f"unknown classifier stage '{by_name}'", str(by_name))
            return None
        self.used.add(by.name)
        by_in, by_out = self.types_of(by)
        if by_out and by_out != CLASSIFICATION:
            self.error(
                by_line, f"a route's classifier must return {CLASSIFICATION}, not {by_out}", by.name
            )
        branches: list[tuple[Node, int]] = []
        cases: list[tuple[str, Node]] = []
        raw_cases = body.get("cases") or {}
        if not isinstance(raw_cases, Mapping):
            self.error(body.line_of("cases"), "route 'cases' must map a label to a node")
            raw_cases = {}
        for label, raw in raw_cases.items():
            case_line = raw_cases.line_of(label) if isinstance(raw_cases, LocatedMap) else line
            node = self.node(raw, case_line)
            if node is not None:
                cases.append((str(label), node))
                branches.append((node, case_line))
        default = self.node(body["default"], body.line_of("default"))
        if default is None:
            return None
        escalations = self.tiers(body.get("escalate"), body.line_of("escalate"), by.name)
        branches.extend((tier.to, tier.to.line) for tier in escalations)
        input_type, output_type = self.same_types(
            [(default, body.line_of("default")), *branches], "route cases differ"
        )
        if by_in and input_type and by_in != input_type:
            self.error(
                by_line,
                f"classifier '{by.name}' takes {by_in} but the route's cases take {input_type}",
                by.name,
            )
        return RouteNode(
            by=StageNode(stage=by, line=by_line, input_type=by_in, output_type=by_out),
            cases=tuple(cases),
            default=default,
            escalations=escalations,
            line=line,
            input_type=by_in or input_type,
            output_type=output_type,
        )

    def tiers(self, raw: Any, line: int, stage: str = "") -> tuple[Escalation, ...]:
        """`{below, to}` or a list of them, sorted lowest threshold first."""
        found = []
        for raw_tier, tier_line in _as_list(raw, line):
            if not self.keys(raw_tier, tier_line, "escalate", ("below", "to"), ("below", "to")):
                continue
            below = read_number(raw_tier, "below", self._at(raw_tier, stage), minimum=0.0)
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

    def node_escalate(self, body: Any, line: int) -> Node | None:
        """Keep a node's answer when it is confident; otherwise hand the input to a stronger node."""
        if not self.keys(body, line, "escalate", ("from", "field", "tiers"), ("from", "tiers")):
            return None
        source = self.node(body["from"], body.line_of("from"))
        field = str(body.get("field", ""))
        tiers = self.tiers(
            body["tiers"], body.line_of("tiers"), _stage_of(source) if source else ""
        )
        if source is None or not tiers:
            if source is not None:
                self.error(body.line_of("tiers"), "escalate needs at least one {below, to} tier")
            return None
        input_type, output_type = self.same_types(
            [(source, body.line_of("from")), *((t.to, t.to.line) for t in tiers)],
            "escalate targets differ",
        )
        self.check_confidence_path(output_type, field, body.line_of("field"), "escalate")
        return EscalateNode(
            source=source,
            field=field,
            tiers=tiers,
            line=line,
            input_type=input_type,
            output_type=output_type,
        )

    def _at(self, mapping: Any, stage: str = "") -> Any:
        return self.reporter.at(mapping, stage)

    def node_cascade(self, body: Any, line: int) -> Node | None:
        if not self.keys(body, line, "cascade", ("steps", "below", "field"), ("steps", "below")):
            return None
        steps = self.children(body["steps"], body.line_of("steps"), "cascade steps", 2)
        below = read_number(body, "below", self._at(body), minimum=0.0)
        if below is not None and below > 1.0:
            self.error(
                body.line_of("below"), f"cascade 'below' is a confidence in [0, 1], not {below:g}"
            )
        field = str(body.get("field", ""))
        if not steps or below is None:
            return None
        input_type, output_type = self.same_types(steps, "cascade steps differ")
        self.check_confidence_path(output_type, field, body.line_of("field"), "cascade")
        return CascadeNode(
            steps=tuple(node for node, _ in steps),
            below=below,
            field=field,
            line=line,
            input_type=input_type,
            output_type=output_type,
        )

    def node_fallback(self, body: Any, line: int) -> Node | None:
        steps = self.children(body, line, "fallback", 2)
        if len(steps) < 2:
            return None
        input_type, output_type = self.same_types(steps, "fallback steps differ")
        return FallbackNode(
            steps=tuple(node for node, _ in steps),
            line=line,
            input_type=input_type,
            output_type=output_type,
        )

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

    def node_fanout(self, body: Any, line: int) -> Node | None:
        if not self.keys(
            body,
            line,
            "fanout",
            ("branches", "merge", "quorum", "budget_ms"),
            ("branches", "merge"),
        ):
            return None
        raw_branches = body["branches"]
        branches_line = body.line_of("branches")
        names: list[str] = []
        if isinstance(raw_branches, LocatedMap):
            branches = []
            for name, raw in raw_branches.items():
                node = self.node(raw, raw_branches.line_of(name))
                if node is not None:
                    branches.append((node, raw_branches.line_of(name)))
                    names.append(str(name))
        else:
            branches = self.children(raw_branches, branches_line, "fanout branches", 1)
            names = [node.label for node, _ in branches]
            if len(set(names)) != len(names):
                self.error(
                    branches_line,
                    "fan-out branches need distinct names: give 'branches' as a mapping of name to node",
                )
        if len(branches) > MAX_FANOUT_WIDTH:
            self.error(
                branches_line,
                f"a fan-out has at most {MAX_FANOUT_WIDTH} branches, not {len(branches)}",
            )
        merge = body["merge"]
        merger: StageSpec | None = None
        strategy = merger_pb2.MERGE_STRATEGY_UNSPECIFIED
        field = ""
        weights: dict[str, float] = {}
        if self.keys(
            merge,
            body.line_of("merge"),
            "merge",
            ("by", "strategy", "field", "weights"),
            ("by", "strategy"),
        ):
            merger = self.draft.stages.get(merge["by"]) if isinstance(merge["by"], str) else None
            if merger is None or not merger.is_merger:
                kind = "not a merger stage (kind: merger)" if merger is not None else "unknown"
                self.error(
                    merge.line_of("by"), f"merge by '{merge['by']}': {kind}", str(merge["by"])
                )
                merger = None
            else:
                self.used.add(merger.name)
            strategy = STRATEGIES.get(str(merge["strategy"]), merger_pb2.MERGE_STRATEGY_UNSPECIFIED)
            if not strategy:
                self.error(
                    merge.line_of("strategy"),
                    f"unknown merge strategy '{merge['strategy']}' (allowed: {', '.join(STRATEGIES)})",
                )
            field = str(merge.get("field", ""))
            raw_weights = merge.get("weights") or {}
            if isinstance(raw_weights, Mapping):
                for name in raw_weights:
                    value = read_number(
                        raw_weights, name, self._at(raw_weights), minimum=0.0, exclusive=True
                    )
                    if name not in names:
                        self.error(merge.line_of("weights"), f"weight for unknown branch '{name}'")
                    elif value is not None:
                        weights[name] = value
        quorum_raw = read_number(body, "quorum", self._at(body), minimum=1.0)
        quorum = int(quorum_raw) if quorum_raw is not None else len(branches)
        if quorum > len(branches) and branches:
            self.error(
                body.line_of("quorum"), f"quorum {quorum} is more than the {len(branches)} branches"
            )
        budget_ms = (
            read_number(body, "budget_ms", self._at(body), minimum=0.0, exclusive=True) or 0.0
        )
        if not branches or merger is None or not strategy:
            return None
        input_type, output_type = self.same_types(branches, "fan-out branches differ")
        if field or strategy != merger_pb2.MERGE_STRATEGY_FIRST_VALID:
            self.check_confidence_path(output_type, field, merge.line_of("field"), "merge")
        return FanoutNode(
            branches=tuple(node for node, _ in branches),
            names=tuple(names),
            merger=merger,
            strategy=strategy,
            field=field,
            weights=tuple(weights.items()),
            quorum=quorum,
            budget_ms=budget_ms,
            line=line,
            input_type=input_type,
            output_type=output_type,
        )

    def node_split(self, body: Any, line: int) -> Node | None:
        if not isinstance(body, list) or not body:
            self.error(line, "'split' needs a list of {weight, to} entries")
            return None
        branches: list[tuple[Node, int]] = []
        weights: list[float] = []
        for raw, item_line in _as_list(body, line):
            if not self.keys(raw, item_line, "split entry", ("weight", "to"), ("weight", "to")):
                continue
            weight = read_number(raw, "weight", self._at(raw), minimum=0.0, exclusive=True)
            node = self.node(raw["to"], raw.line_of("to"))
            if node is not None and weight is not None:
                branches.append((node, item_line))
                weights.append(weight)
        if not branches or len(branches) != len(body):
            return None
        input_type, output_type = self.same_types(branches, "split branches differ")
        total = sum(weights)
        cumulative, running = [], 0.0
        for weight in weights:
            running += weight
            cumulative.append(running / total)
        cumulative[-1] = 1.0
        return SplitNode(
            branches=tuple(node for node, _ in branches),
            cumulative=tuple(cumulative),
            line=line,
            input_type=input_type,
            output_type=output_type,
        )


def _as_list(raw: Any, line: int) -> list[tuple[Any, int]]:
    if raw is None:
        return []
    if isinstance(raw, LocatedList):
        return [(item, raw.line_of(i)) for i, item in enumerate(raw)]
    return [(raw, line_of(raw, line))]


def _stage_of(node: Node) -> str:
    if isinstance(node, StageNode):
        return node.stage.name
    if isinstance(node, RouteNode):
        return node.by.stage.name
    return ""


def _did_you_mean(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
