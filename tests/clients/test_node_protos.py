"""The router's protos shipped inside the Node library (clients/node/lib/tutti-v1.json) match
protos/: regenerated from `protos/generate.py --image` by the package's own script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.clients.conftest import CALL_TIMEOUT_S, NODE_CLIENT, ROOT
from tests.clients.test_node_client import node  # noqa: F401  (a fixture)

SHIPPED = NODE_CLIENT / "lib" / "tutti-v1.json"


def test_the_shipped_router_protos_are_not_stale(node: str, tmp_path: Path) -> None:  # noqa: F811
    image = tmp_path / "tutti.binpb"
    subprocess.run(
        [sys.executable, str(ROOT / "protos" / "generate.py"), "--image", str(image)],
        check=True,
        timeout=CALL_TIMEOUT_S,
    )
    fresh = tmp_path / "tutti-v1.json"
    subprocess.run(
        [node, str(NODE_CLIENT / "scripts" / "bundle-protos.js"), str(image), "--out", str(fresh)],
        check=True,
        timeout=CALL_TIMEOUT_S,
    )
    assert fresh.read_text() == SHIPPED.read_text(), (
        f"{SHIPPED.relative_to(ROOT)} is stale against protos/: run `npm run protos --prefix clients/node`"
    )
