"""The services that compositions brought up together need: one per stage name, for every file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, Problem

if TYPE_CHECKING:
    from router_service import Draft

__all__ = ["StageService", "stage_services"]


@dataclass(frozen=True)
class StageService:
    """A service the mesh starts: a specialist for a stage with `serve:`, or a merger.

    `compositions` are the files that name the stage, in the order given; a
    specialist is read from the first (relative paths in its `serve:` block
    resolve beside that file), a merger learns the types of all of them.
    """

    stage: str
    kind: str  # "specialist" or "merger"
    compositions: tuple[Path, ...]

    def serve_args(self) -> list[str]:
        """The arguments after `tutti serve` that start this service."""
        if self.kind == "merger":
            return ["merger", *(a for path in self.compositions for a in ("--config", str(path)))]
        return ["specialist", "--config", str(self.compositions[0]), "--stage", self.stage]


def stage_services(drafts: Sequence[Draft]) -> list[StageService]:
    """One service per stage name that a `serve:` block or `kind: merger` asks for.

    A stage shared by several files is started once, so each must declare it
    alike; raise ConfigError naming both files and lines for every one that does
    not (and for a composition name given twice, which one router cannot serve).
    """
    problems: list[Problem] = []
    # Each stage name and each composition name, with the first file that declares it.
    first: dict[str, Draft] = {}
    names: dict[str, Draft] = {}
    for draft in drafts:
        named = names.setdefault(draft.name, draft)
        if named is not draft:
            problems.append(
                Problem(
                    draft.source,
                    draft.document.line_of("composition"),
                    f"composition '{draft.name}' is already served from {named.source}",
                )
            )
        for name, spec in draft.stages.items():
            seen = first.setdefault(name, draft)
            what = _difference(seen, draft, name)
            if what:
                problems.append(
                    Problem(
                        draft.source,
                        spec.line,
                        f"not the same stage as '{name}' in {seen.source}:"
                        f"{seen.stages[name].line} ({what}); compositions brought up together"
                        " share one service per stage name, so make the two the same or rename one",
                        name,
                    )
                )
    if problems:
        raise ConfigError(problems)
    services = []
    for name, draft in first.items():
        spec = draft.stages[name]
        if not spec.is_merger and spec.serve is None:
            continue  # served elsewhere, at its declared endpoint
        files = tuple(Path(d.source) for d in drafts if name in d.stages)
        services.append(StageService(name, "merger" if spec.is_merger else "specialist", files))
    return services


def _difference(seen: Draft, draft: Draft, name: str) -> str:
    """How the stage `name` of `draft` differs from the one `seen` first declared, as far as
    its service is concerned; "" when it is the same."""
    earlier, later = seen.stages[name], draft.stages[name]
    if earlier.is_merger != later.is_merger:
        return "one is a merger, the other a model stage"
    if earlier.serve is None and later.serve is None:
        # Neither is started here: each composition calls the endpoint it declares.
        return ""
    if (earlier.serve is None) != (later.serve is None):
        return "only one has a serve: block"
    for key in ("input", "output"):
        there, here = getattr(earlier, key), getattr(later, key)
        if there != here:
            return f"{key} {here or '(undeclared)'} here, {there or '(undeclared)'} there"
    if dict(earlier.serve or {}) != dict(later.serve or {}):
        return "the serve: blocks differ"
    return ""
