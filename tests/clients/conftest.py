"""The quickstart mesh and the client tools the tests in this folder run for real."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.mesh import Mesh

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "composition.yaml"
NODE_CLIENT = ROOT / "clients" / "node"
# What every subprocess of these tests may take at most.
CALL_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def mesh() -> Iterator[Mesh]:
    """The quickstart's stages and router, started once per test module on 127.0.0.1."""
    with Mesh.start(QUICKSTART) as started:
        assert started.router_address.startswith("127.0.0.1:"), started.router_address
        yield started


def require_tool(name: str, how: str) -> str:
    """The tool's path; a missing tool fails the test (these checks are never skipped)."""
    # The venv's own bin first: grpcurl comes with the dev dependencies.
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {how}", pytrace=False)
    return found


def node_with_packages() -> str:
    """Node.js, with the client library's packages installed from the committed lock."""
    path = require_tool("node", "install Node.js 18 or newer (CI has it)")
    if not (NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail(
            f"the Node client's packages are not installed in {NODE_CLIENT / 'node_modules'}: "
            "run `npm ci --prefix clients/node` (`make test` does)",
            pytrace=False,
        )
    return path
