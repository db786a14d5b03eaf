"""Reading a composition file: its top-level keys, imports and stages, before the flow compiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from router_service.composition._stages import parse_budget, parse_cache_backend, parse_stage
from router_service.plan import Budget, CacheBackend, StageSpec
from tutti.config import Problems, import_message_modules, unknown_keys
from tutti.errors import ConfigError, Problem
from tutti.located_yaml import LocatedList, LocatedMap, line_of, load_located, read_config_text

__all__ = ["TOP_KEYS", "Draft", "read_composition"]

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
    # The modules of `imports:` that imported: the services serving this composition's
    # stages and mergers need their message types too.
    imports: tuple[str, ...] = ()


def read_composition(path: str | Path, text: str | None = None) -> Draft:
    """Read a composition file; YAML that cannot be parsed at all raises ConfigError."""
    source = str(path)
    if text is None:
        text = read_config_text(path)
    document, duplicates = load_located(text, source)
    reporter = Problems(source)
    reporter.found.extend(duplicates)
    if not isinstance(document, LocatedMap):
        raise ConfigError(
            Problem(source, line_of(document, 1), "a composition must be a YAML mapping")
        )
    report = reporter.located(document)
    for key in unknown_keys(document, TOP_KEYS):
        report(key, f"unknown key '{key}' (allowed: {', '.join(TOP_KEYS)})")
    for key in ("composition", "input", "output", "stages", "flow"):
        if key not in document:
            reporter.at_line(document.line, f"missing required key '{key}'")
    name = document.get("composition", "")
    if not isinstance(name, str):
        report("composition", "'composition' must be a name")
        name = ""
    folder = Path(path).resolve().parent if Path(path).is_file() else None
    imports = _import_modules(document, reporter, folder)
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
        problems=tuple(reporter.found),
        imports=imports,
    )


def _import_modules(
    document: LocatedMap, reporter: Problems, beside: Path | None
) -> tuple[str, ...]:
    """Import the modules named in `imports`, so that their message types are known."""
    modules = document.get("imports")

    def report(index: int | None, message: str) -> None:
        if index is not None and isinstance(modules, LocatedList):
            reporter.at_line(modules.line_of(index), message)
        else:
            reporter.at_line(document.line_of("imports"), message)

    return import_message_modules(modules, report, beside)
