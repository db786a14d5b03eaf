"""The user-typed composition the client libraries' tests route through: it loads as written."""

from __future__ import annotations

import subprocess
import sys

from tests.clients.conftest import CALL_TIMEOUT_S, ROOT

USER_TYPES = ROOT / "tests" / "clients" / "user_types" / "composition.yaml"


def test_check_finds_the_generated_modules_beside_the_composition() -> None:
    """`imports: [acme.v1.tickets_pb2]` resolves beside the file, with no PYTHONPATH set."""
    # Only the checkout itself on the path, and a working directory elsewhere.
    env = {"PYTHONPATH": str(ROOT), "HOME": "/tmp"}
    result = subprocess.run(
        [sys.executable, "-c", "from workbench.cli import main; main()", "check", str(USER_TYPES)],
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_S,
        env=env,
        cwd="/",
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "acme.v1.Ticket -> acme.v1.Answer" in result.stdout
