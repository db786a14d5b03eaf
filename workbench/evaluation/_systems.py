"""What `tutti eval` measures: the composition, and the single stages it is compared with."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from router_service import Composition, Draft
from tutti.config import Problems
from tutti.errors import ConfigError
from tutti.messages import MessageTypes
from workbench.dataset import LabelPath, label_path

__all__ = [
    "System",
    "baseline_label",
    "baseline_stages",
    "draft_baselines",
    "route_classifiers",
    "stage_types",
    "write_baselines",
]

# Stages are reached through the router's --endpoint flags, which override this.
PLACEHOLDER_ENDPOINT = "127.0.0.1:1"


@dataclass(frozen=True)
class System:
    """One system measured: `composition` is the name the router serves it under."""

    name: str
    composition: str
    kind: str  # "composition" | "baseline"
    stage: str = ""
    label: LabelPath | None = None


def _label_in(types: MessageTypes, type_name: str, path: str) -> LabelPath | None:
    try:
        return label_path(types.message_class(type_name).DESCRIPTOR, path)
    except (ConfigError, KeyError, TypeError):
        return None


def route_classifiers(document: Any) -> set[str]:
    """The stages a `route` picks its case by: their labels name cases, not answers."""
    found: set[str] = set()
    if isinstance(document, Mapping):
        route = document.get("route")
        if isinstance(route, Mapping) and isinstance(route.get("by"), str):
            found.add(route["by"])
        for value in document.values():
            found |= route_classifiers(value)
    elif isinstance(document, list):
        for value in document:
            found |= route_classifiers(value)
    return found


def baseline_stages(
    composition: Composition,
    stage_types: Mapping[str, tuple[str, str]],
    types: MessageTypes,
    label: str,
    against: Sequence[str],
    classifiers: Collection[str] = (),
) -> list[System]:
    """The baselines: `against` if given (each checked), else every stage that answers the
    composition's input on its own with an output holding the label path (or its tail:
    `intent.label` in a stage that gives the Triage the composition's output holds), but
    for a route's classifiers (`classifiers`), whose labels are its cases.

    `stage_types` is each stage's (input, output) type, as declared or described.
    """
    stages = composition.stages
    problems = Problems(composition.source)
    chosen: list[System] = []
    names = list(against) or [
        n for n, s in stages.items() if not s.is_merger and n not in classifiers
    ]
    for name in names:
        if name not in stages:
            problems.at_line(1, f"--against {name!r}: no such stage (stages: {', '.join(stages)})")
            continue
        input_type, output_type = stage_types.get(name, ("", ""))
        path = baseline_label(types, output_type, label) if output_type else None
        if input_type != composition.input_type or path is None:
            if against:
                problems.at_line(
                    stages[name].line,
                    f"--against {name!r}: it takes {input_type or '?'} and gives "
                    f"{output_type or '?'}; a baseline must take {composition.input_type}"
                    f" and give a message with the label at {label!r}",
                )
            continue
        chosen.append(System(name, "", "baseline", name, path))
    problems.raise_if_any()
    return chosen


def baseline_label(types: MessageTypes, output_type: str, label: str) -> LabelPath | None:
    """The label path in a stage's output: the composition's, or its tail, shortest first."""
    parts = label.split(".")
    for start in range(len(parts)):
        found = _label_in(types, output_type, ".".join(parts[start:]))
        if found is not None:
            return found
    return None


def stage_types(
    draft: Draft, described: Mapping[str, tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """Each stage's (input, output) type: as its live Describe said, else as declared."""
    return {n: described.get(n, (s.input, s.output)) for n, s in draft.stages.items()}


def draft_baselines(
    draft: Draft,
    composition: Composition,
    described: Mapping[str, tuple[str, str]],
    types: MessageTypes,
    label: str,
    against: Sequence[str],
) -> list[System]:
    """`baseline_stages` of a composition file, its stages' types and route classifiers read."""
    return baseline_stages(
        composition,
        stage_types(draft, described),
        types,
        label,
        against,
        route_classifiers(draft.document),
    )


def _plain(value: Any) -> Any:
    """A located YAML value as plain dicts and lists, for writing out again."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def write_baselines(draft: Draft, baselines: Sequence[System], folder: Path) -> list[System]:
    """One composition file per baseline, each the stage alone, served by the same stages.

    The stage's own settings (price, budget, policies) are kept; its `serve:` block is
    not, since the evaluation's mesh already serves it, at the endpoint the router is given.
    """
    written = []
    document = draft.document
    for system in baselines:
        spec = dict(_plain(document["stages"][system.stage]))
        spec.pop("serve", None)
        spec["endpoint"] = PLACEHOLDER_ENDPOINT
        name = f"{draft.name}--{system.stage}"
        text: dict[str, Any] = {
            "composition": name,
            "input": draft.input_type,
            "output": system.label.output_type if system.label else "",
            "stages": {system.stage: spec},
            "flow": system.stage,
        }
        if "imports" in document:
            text["imports"] = _plain(document["imports"])
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(text, sort_keys=False), encoding="utf-8")
        written.append(System(system.name, name, "baseline", system.stage, system.label))
    return written
