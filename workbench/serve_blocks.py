"""The specialist configs in a composition's `serve:` blocks, read as the specialists read them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, Problem

if TYPE_CHECKING:
    from router_service import Draft
    from specialist_service import SpecialistConfig

__all__ = ["serve_problems", "stage_config"]


def stage_config(composition: str | Path, stage: str) -> SpecialistConfig:
    """The specialist configuration in a composition stage's `serve:` block.

    The stage's declared input and output types apply unless the block sets
    its own, the composition's `imports:` come before the block's own, and
    relative paths resolve against the composition's folder.
    """
    from router_service import read_composition

    path = Path(composition)
    return _serve_block(read_composition(path), path, stage)


def serve_problems(draft: Draft) -> list[Problem]:
    """Every problem of the composition's `serve:` blocks, as the specialists would find them
    (one validation, the specialist's own); none when every block would load."""
    found: list[Problem] = []
    for name, spec in draft.stages.items():
        if spec.serve is None or spec.is_merger:
            continue
        try:
            _serve_block(draft, Path(draft.source), name)
        except ConfigError as exc:
            found.extend(exc.problems)
    return found


def _serve_block(draft: Draft, path: Path, stage: str) -> SpecialistConfig:
    from specialist_service import SpecialistConfig, key_lines

    spec = draft.stages.get(stage)
    if spec is None or spec.serve is None:
        why = "no such stage" if spec is None else "the stage has no `serve:` block"
        raise ConfigError(Problem(str(path), 0, why, stage))
    data = dict(spec.serve)
    for key, declared in (("input", spec.input), ("output", spec.output)):
        if declared:
            data.setdefault(key, declared)
    own = data.get("imports")
    if draft.imports and (own is None or isinstance(own, list)):
        data["imports"] = [*draft.imports, *(own or [])]
    lines = key_lines(spec.serve)
    return SpecialistConfig.from_mapping(
        data, str(path), stage, base_dir=path.resolve().parent, lines=lines
    )
