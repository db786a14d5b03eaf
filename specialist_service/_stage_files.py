"""The files under a composition's folder that one specialist needs: its model and its code.

They are what `tutti deploy build` packs into the composition's models image
and what a specialist's `--model-digest` covers (tutti/digest.py): the `model`
file, the module a python `factory` names when it lives beside the
composition, and every string in `options` or in the backend's section that
names a file or folder there. Paths outside the composition's folder (an
absolute path, a package installed in the image) are not the composition's
to ship.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from specialist_service._config import SpecialistConfig

__all__ = ["stage_files"]


def stage_files(config: SpecialistConfig) -> list[str]:
    """The sorted paths, relative to the composition's folder, of what this stage loads."""
    base = config.base_dir.resolve()
    found: set[str] = set()
    if config.model is not None:
        # Kept when missing too: a missing model file then changes the digest.
        model = _inside(config.model, base)
        if model is not None:
            found.add(model)
    candidates: list[Path] = []
    if config.backend == "python" and config.factory:
        candidates += _module_files(config.factory.partition(":")[0], base)
    for value in _strings(config.options):
        candidates.append(base / value)
    for value in _strings(config.section):
        candidates.append(base / value)
    for path in candidates:
        relative = _inside(path, base)
        if relative is not None and path.exists():
            found.add(relative)
    return sorted(found)


def _module_files(module: str, base: Path) -> list[Path]:
    """A module beside the composition, the sibling modules it imports, the files it names."""
    found: list[Path] = []
    pending, seen = [module], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = base / f"{name.replace('.', '/')}.py"
        if not path.is_file():
            package = base / name.replace(".", "/")
            if package.is_dir():
                found.append(package)
            continue
        found.append(path)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue  # the backend's own import reports it, with the line
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                pending += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                pending.append(node.module)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [base / value for value in _strings(node.value)]
    return found


def _inside(path: Path, base: Path) -> str | None:
    try:
        relative = path.resolve().relative_to(base)
    except (ValueError, OSError):
        return None
    return relative.as_posix() if relative.parts else None


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        if value and "\n" not in value and "\0" not in value and len(value) < 4096:
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
