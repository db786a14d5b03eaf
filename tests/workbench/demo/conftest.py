"""The support desk on small models, trained once for the package and served by a real mesh."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.test_go_client import go_client  # noqa: F401  (a fixture)
from tests.clients.test_node_client import node  # noqa: F401  (a fixture)
from workbench.demo import DESK, ensure_models
from workbench.mesh import Mesh

# Small models train in seconds; the full run is `tutti demo`.
PER_LABEL = 20


@pytest.fixture(scope="package")
def desks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `support-desk/` (with small models) beside it, as examples/ does."""
    parent = tmp_path_factory.mktemp("examples")
    folder = parent / "support-desk"
    folder.mkdir()
    for name in ("composition.yaml", "desk.py", "departments.yaml", "macros.yaml"):
        shutil.copy(DESK / name, folder / name)
    ensure_models(folder, per_label=PER_LABEL, log=lambda _: None)
    return parent


@pytest.fixture(scope="package")
def desk(desks: Path) -> Iterator[tuple[Mesh, Path]]:
    folder = desks / "support-desk"
    with Mesh.start(folder / "composition.yaml") as mesh:
        yield mesh, folder
