"""The Go package's own tests (clients/go/tutti/*_test.go): building a composition's types
from descriptors, packing inputs and reading outputs, without a server."""

from __future__ import annotations

import subprocess

import pytest

from tests.clients.go_build import BUILD_TIMEOUT_S, GO_CLIENT, go_env


@pytest.mark.timeout(BUILD_TIMEOUT_S)
def test_go_test_passes() -> None:
    result = subprocess.run(
        ["go", "test", "./tutti/..."],
        cwd=GO_CLIENT,
        env=go_env(GO_CLIENT),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  \ttutti.dev/go/tutti" in result.stdout, result.stdout
