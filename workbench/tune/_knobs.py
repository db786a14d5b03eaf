"""A composition's knobs: every confidence threshold (`below`) in its flow, found, set and written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tutti.config import Problems
from tutti.located_yaml import LocatedList, LocatedMap

__all__ = ["Knob", "find_knobs", "resolve_pins", "rewrite", "set_knobs"]

Path = tuple[str | int, ...]
KINDS = ("cascade", "escalate", "route")


@dataclass(frozen=True)
class Knob:
    """One `below:` of the flow: where it is, what it is called, and its value in the file."""

    name: str
    path: Path
    line: int
    value: float
    span: tuple[int, int, int, int] | None


def _describe(path: Path, container: LocatedMap) -> str:
    keys = [p for p in path if isinstance(p, str)]
    kind = "threshold"
    for i in reversed(range(len(keys))):
        if keys[i] in KINDS:
            # A route's own `escalate:` key, not an escalate node.
            routed = keys[i] == "escalate" and i > 0 and keys[i - 1] == "route"
            kind = "route escalate" if routed else keys[i]
            break
    target = container.get("to")
    if isinstance(target, str):
        return f"{kind} -> {target}"
    if kind == "cascade":
        steps = container.get("steps")
        if isinstance(steps, list) and steps and all(isinstance(s, str) for s in steps):
            return f"cascade {' > '.join(steps)}"
    return kind


def find_knobs(document: LocatedMap) -> list[Knob]:
    """Every numeric `below` under `flow` and `flows`, in file order."""
    found: list[Knob] = []

    def visit(value: Any, path: Path) -> None:
        if isinstance(value, LocatedMap):
            for key, child in value.items():
                if (
                    key == "below"
                    and isinstance(child, int | float)
                    and not isinstance(child, bool)
                ):
                    name = _describe(path, value)
                    found.append(
                        Knob(
                            name, (*path, key), value.line_of(key), float(child), value.span_of(key)
                        )
                    )
                else:
                    visit(child, (*path, key))
        elif isinstance(value, LocatedList):
            for index, child in enumerate(value):
                visit(child, (*path, index))

    for top in ("flows", "flow"):
        if top in document:
            visit(document[top], (top,))
    found.sort(key=lambda k: k.line)
    counts: dict[str, int] = {}
    for knob in found:
        counts[knob.name] = counts.get(knob.name, 0) + 1
    return [
        Knob(f"{k.name} (line {k.line})", k.path, k.line, k.value, k.span)
        if counts[k.name] > 1
        else k
        for k in found
    ]


def _container(document: LocatedMap, path: Path) -> Any:
    node: Any = document
    for part in path[:-1]:
        node = node[part]
    return node


def set_knobs(document: LocatedMap, values: Mapping[Knob, float]) -> dict[Knob, float]:
    """Put `values` into the document in place; return what they replaced, to put back."""
    before = {}
    for knob, value in values.items():
        container = _container(document, knob.path)
        before[knob] = container[knob.path[-1]]
        container[knob.path[-1]] = value
    return before


def resolve_pins(knobs: Sequence[Knob], pins: Sequence[str], source: str) -> dict[Knob, float]:
    """`--pin NAME=VALUE` (or LINE=VALUE) as knob values; each problem names the pin."""
    problems = Problems(source)
    pinned: dict[Knob, float] = {}
    for pin in pins:
        name, _, raw = pin.rpartition("=")
        knob = next((k for k in knobs if name in (k.name, str(k.line))), None)
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if knob is None:
            known = "; ".join(f"{k.name} (line {k.line})" for k in knobs) or "none"
            problems.at_line(1, f"--pin {pin!r}: no knob {name!r} (knobs: {known})")
        elif not 0.0 <= value <= 1.0:
            problems.at_line(knob.line, f"--pin {pin!r}: a threshold is a number in [0, 1]")
        else:
            pinned[knob] = value
    problems.raise_if_any()
    return pinned


def rewrite(text: str, values: Mapping[Knob, float]) -> str:
    """`text` with each knob's value replaced where it is written; nothing else changes."""
    lines = text.splitlines(keepends=True)
    # Last first, so that earlier spans stay where they are.
    for knob, value in sorted(
        values.items(), key=lambda kv: kv[0].span or (0, 0, 0, 0), reverse=True
    ):
        if knob.span is None:
            raise ValueError(f"{knob.name}: its place in the file is not known")
        start_line, start_col, end_line, end_col = knob.span
        if start_line != end_line:
            raise ValueError(f"{knob.name}: its value spans lines")
        line = lines[start_line]
        lines[start_line] = line[:start_col] + f"{value:g}" + line[end_col:]
    return "".join(lines)
