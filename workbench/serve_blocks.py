"""The specialist configs in a composition's `serve:` blocks, read as the specialists read them."""

from __future__ import annotations

import ast
import os
import sys
from importlib.machinery import ModuleSpec, PathFinder
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
    (one validation, the specialist's own), and the files they would load that are not there:
    a `model:` file that does not exist, a `factory:` module or callable that is not written.
    None when every block would load."""
    found: list[Problem] = []
    for name, spec in draft.stages.items():
        if spec.serve is None or spec.is_merger:
            continue
        try:
            config = _serve_block(draft, Path(draft.source), name)
        except ConfigError as exc:
            found.extend(exc.problems)
            continue
        found.extend(_missing(config, spec.serve.get("model")))
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


def _missing(config: SpecialistConfig, written: object) -> list[Problem]:
    """What `tutti up` would fail to find for this block, found without loading or importing it."""
    if config.backend == "sklearn" and config.model is not None and not config.model.is_file():
        folder = os.path.relpath(config.model.parent)
        return [
            _problem(
                config,
                "model",
                f"model file {written} does not exist (relative to the composition's folder):"
                f" train it with `tutti train DATA --model cheap --out {folder}`, or write a"
                " trained starter with `tutti recommend --data DATA`",
            )
        ]
    if config.backend == "python" and config.factory:
        module, _, attribute = config.factory.partition(":")
        # Where `tutti up` looks: beside the composition, then the working directory.
        search = [str(config.base_dir), os.getcwd(), *sys.path]
        spec = _module_spec(module, search)
        if spec is None:
            return [
                _problem(
                    config,
                    "factory",
                    f"no module {module} to import (looked beside the composition and on the"
                    f" Python path): write {module.replace('.', '/')}.py with a callable"
                    f" {attribute}, or point `factory` at your own model",
                )
            ]
        if _defines(spec, attribute.partition(".")[0]) is False:
            return [_problem(config, "factory", f"{spec.origin} defines no {attribute}")]
    return []


def _problem(config: SpecialistConfig, key: str, message: str) -> Problem:
    return Problem(config.source, config.lines.get(key, 0), f"{key}: {message}", config.stage)


def _module_spec(module: str, search: list[str]) -> ModuleSpec | None:
    """Where `module` would be imported from, found without running any of its code (not even
    a package's __init__); None when it is nowhere."""
    top, *rest = module.split(".")
    loaded = sys.modules.get(top)
    spec = loaded.__spec__ if loaded is not None else PathFinder.find_spec(top, search)
    if spec is None and top in sys.builtin_module_names:
        return ModuleSpec(top, None, origin="built-in")
    name = top
    for part in rest:
        if spec is None or not spec.submodule_search_locations:
            return None
        name = f"{name}.{part}"
        spec = PathFinder.find_spec(name, list(spec.submodule_search_locations))
    return spec


def _defines(spec: ModuleSpec, name: str) -> bool | None:
    """Whether the module's source defines `name` at its top level; None when its source
    cannot say (no .py file, a `from x import *`, a module `__getattr__`)."""
    origin = spec.origin or ""
    if not origin.endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(origin).read_bytes(), origin)
    except (OSError, SyntaxError, ValueError):
        return None  # the import will say what is wrong with it
    names: set[str] = set()
    statements = list(tree.body)
    while statements:
        node = statements.pop()
        match node:
            case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
                names.add(node.name)
            case ast.Assign() | ast.AnnAssign() | ast.AugAssign():
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
            case ast.Import() | ast.ImportFrom():
                for alias in node.names:
                    if alias.name == "*":
                        return None
                    names.add(alias.asname or alias.name.partition(".")[0])
            case ast.If() | ast.Try() | ast.With():
                statements += [
                    *node.body,
                    *getattr(node, "orelse", ()),
                    *getattr(node, "finalbody", ()),
                ]
                statements += [s for h in getattr(node, "handlers", ()) for s in h.body]
    if "__getattr__" in names:
        return None
    return name in names
