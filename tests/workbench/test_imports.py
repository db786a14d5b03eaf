"""The layers hold: the workbench uses the services only through their public faces.

Nothing under it (the ground, the services) imports the workbench.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("router_service", "specialist_service", "merger_service")


def _imported_modules(package: str) -> Iterator[tuple[Path, str]]:
    """(file, dotted module) for every import in a package's hand-written modules."""
    for path in sorted((ROOT / package).rglob("*.py")):
        if "_pb2" in path.name:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module
                for alias in node.names:
                    yield path, f"{node.module}.{alias.name}"


def _offenders(package: str, refused: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {module}"
        for path, module in _imported_modules(package)
        if module.split(".")[0] in refused
    ]


def test_the_workbench_reaches_a_service_only_through_its_public_init() -> None:
    private = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path, module in _imported_modules("workbench")
        if module.split(".")[0] in SERVICES
        and any(part.startswith("_") for part in module.split(".")[1:])
    ]
    assert private == []


@pytest.mark.parametrize("package", ["tutti", *SERVICES])
def test_nothing_below_the_workbench_imports_it(package: str) -> None:
    assert _offenders(package, ("workbench",)) == []


def test_the_ground_imports_no_service() -> None:
    assert _offenders("tutti", SERVICES) == []
