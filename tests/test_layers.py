"""The layered house holds: imports point down (tools -> services -> ground), never into
another package's private modules, and never in a cycle.

The import graph is read from the source with ast, so a lazy import inside a function
counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each first-party top-level package and its floor: a package imports only from its own
# floor or the floors below it. Generated code (tutti/v1, buf, inference) is ground.
FLOORS = {
    "tutti": 0,
    "buf": 0,
    "inference": 0,
    "router_service": 1,
    "specialist_service": 1,
    "merger_service": 1,
    "workbench": 2,
    "bench": 2,
}
FLOOR_NAMES = {0: "the ground", 1: "a service", 2: "a tool"}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name imported
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from pkg import mod` imports the module pkg.mod when there is one.
                candidate = f"{base}.{alias.name}"
                yield Import(name, candidate if candidate in known else base, path, node.lineno)


def first_party(target: str) -> bool:
    return target.split(".")[0] in FLOORS


def graph() -> list[Import]:
    known = modules()
    return [
        found
        for name, path in known.items()
        for found in imports_of(name, path, known)
        if first_party(found.target)
    ]


def is_private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def upward(imports: list[Import]) -> list[str]:
    """Imports of a floor above the importer's."""
    return [
        f"{i.where()}: {FLOOR_NAMES[FLOORS[i.importer.split('.')[0]]]} ({i.importer}) imports"
        f" {FLOOR_NAMES[FLOORS[i.target.split('.')[0]]]} ({i.target})"
        for i in imports
        if FLOORS[i.target.split(".")[0]] > FLOORS[i.importer.split(".")[0]]
    ]


def into_private(imports: list[Import]) -> list[str]:
    """Imports of another package's private module."""
    return [
        f"{i.where()}: {i.importer} imports {i.target}"
        for i in imports
        if i.importer.split(".")[0] != i.target.split(".")[0] and is_private(i.target)
    ]


def into_interior(imports: list[Import]) -> list[str]:
    """Imports of a service's or tool's interior: anything but the package or a public module."""
    wrong = []
    for i in imports:
        top = i.target.split(".")[0]
        if top == i.importer.split(".")[0] or FLOORS[top] == 0:
            continue
        if i.target.count(".") > 1 or is_private(i.target):
            wrong.append(f"{i.where()}: {i.importer} imports {i.target}")
    return wrong


def cycles(imports: list[Import], known: set[str]) -> list[str]:
    """Each import cycle among the `known` modules, as a chain of imports with their lines."""
    edges: dict[str, set[str]] = {}
    lines: dict[tuple[str, str], str] = {}
    for i in imports:
        if i.target != i.importer and i.target in known:
            edges.setdefault(i.importer, set()).add(i.target)
            lines.setdefault((i.importer, i.target), i.where())
    found: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(edges.get(name, ())):
            if state.get(target) == 1:
                loop = [*path[path.index(target) :], target]
                found.append(
                    " -> ".join(f"{a} ({lines[(a, b)]})" for a, b in itertools.pairwise(loop))
                )
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)
    return found


def test_the_packages_are_there_to_check() -> None:
    """Otherwise every check below would pass on an empty graph."""
    found = modules()
    for package in ("tutti", "router_service", "specialist_service", "merger_service"):
        assert package in found, package
    assert len(graph()) > 100


def test_imports_point_down_the_floors() -> None:
    wrong = upward(graph())
    assert not wrong, "\n".join(wrong)


def test_no_package_imports_another_packages_private_module() -> None:
    wrong = into_private(graph())
    assert not wrong, "\n".join(wrong)


def test_services_and_tools_are_entered_only_through_their_public_face() -> None:
    """A package of a floor above the ground is imported as the package (its `__init__`)
    or one of its public modules: never a module of its interior."""
    wrong = into_interior(graph())
    assert not wrong, "\n".join(wrong)


def test_there_is_no_import_cycle() -> None:
    wrong = cycles(graph(), set(modules()))
    assert not wrong, "\n".join(wrong)


def test_each_check_reports_what_it_is_for() -> None:
    """On a made-up graph with one mistake of each kind, every check names its mistake."""
    here = ROOT / "tests" / "test_layers.py"

    def edge(importer: str, target: str) -> Import:
        return Import(importer, target, here, 1)

    made_up = [
        edge("tutti.messages", "router_service"),
        edge("workbench.demo", "specialist_service._python"),
        edge("workbench.serve", "router_service.engine.budget"),
        edge("router_service.a", "router_service.b"),
        edge("router_service.b", "router_service.a"),
        edge("workbench.up", "router_service"),
        edge("workbench.train", "specialist_service.training"),
    ]
    assert [w.split(": ", 1)[1] for w in upward(made_up)] == [
        "the ground (tutti.messages) imports a service (router_service)"
    ]
    assert [w.split(": ", 1)[1] for w in into_private(made_up)] == [
        "workbench.demo imports specialist_service._python"
    ]
    assert [w.split(": ", 1)[1] for w in into_interior(made_up)] == [
        "workbench.demo imports specialist_service._python",
        "workbench.serve imports router_service.engine.budget",
    ]
    loops = cycles(made_up, {"router_service.a", "router_service.b"})
    assert len(loops) == 1 and "router_service.a" in loops[0] and "router_service.b" in loops[0]


@pytest.mark.parametrize(
    "source",
    [
        "import router_service\n",
        "from router_service._engine import Engine\n",
        "from .. import x\n",
    ],
)
def test_the_reader_sees_a_ground_module_reach_up(tmp_path: Path, source: str) -> None:
    """The graph is read as meant: absolute, `from` and relative imports all name their target."""
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    found = list(imports_of("tutti.v1.probe", probe, modules()))
    assert len(found) == 1
    target = found[0].target
    assert target.split(".")[0] == ("tutti" if source.startswith("from ..") else "router_service")
    if "_engine" in source:
        assert is_private(target)
