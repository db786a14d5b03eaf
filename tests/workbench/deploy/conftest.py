"""The deploy tests' renders: both overlays alone, and every composition rendered over each,
each render moved to another folder before kustomize reads it (nothing may point back)."""

from __future__ import annotations

import shutil

import pytest

from tests.workbench.deploy.rendered import COMPOSITIONS, DEPLOY, Document, kustomize
from workbench.cli import main

RENDERED = tuple(f"{name}-{overlay}" for name in COMPOSITIONS for overlay in ("dev", "prod"))
CASES = ("dev", "prod", *RENDERED)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Document]]:
    found: dict[str, list[Document]] = {}
    for overlay in ("dev", "prod"):
        found[overlay] = kustomize(DEPLOY / "overlays" / overlay)
    for case in RENDERED:
        name, _, overlay = case.rpartition("-")
        out = tmp_path_factory.mktemp(f"render-{case}") / "out"
        code = main(
            ["deploy", "render", str(COMPOSITIONS[name]), "--overlay", overlay, "--out", str(out)]
        )
        assert code == 0
        # Deeper than the render was: a relative path back to the checkout would break.
        moved = tmp_path_factory.mktemp(f"moved-{case}") / "a" / "b" / "elsewhere"
        moved.parent.mkdir(parents=True)
        shutil.move(out, moved)
        found[case] = kustomize(moved)
    return found
