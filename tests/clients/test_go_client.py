"""The Go client (clients/go) against a real quickstart mesh.

build.sh builds it offline from Debian's Go packages (`make go-client` installs them);
it is built once per module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import CALL_TIMEOUT_S, ROOT, require_tool
from workbench.mesh import Mesh

GO_CLIENT = ROOT / "clients" / "go"
ACCOUNT_REPLY = "reset your password"
# Compiling grpc-go from source on a cold build cache takes a while.
BUILD_TIMEOUT_S = 300.0


@pytest.fixture(scope="module")
def go_client() -> Path:
    how = "run `make go-client` (it installs Debian's golang-go and grpc/protobuf packages)"
    require_tool("go", how)
    require_tool("protoc", how)
    require_tool("protoc-gen-go", how)
    result = subprocess.run(
        [str(GO_CLIENT / "build.sh")],
        check=False,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if result.returncode != 0:
        pytest.fail(
            f"clients/go/build.sh failed (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    binary = GO_CLIENT / "build" / "bin" / "tutti-route"
    assert binary.is_file(), binary
    return binary


def route(binary: Path, router: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(binary), "-router", router, *args]
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=CALL_TIMEOUT_S)


def printed(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr}"
    return json.loads(result.stdout)


def test_route_prints_the_output_and_the_execution(go_client: Path, mesh: Mesh) -> None:
    answer = printed(
        route(
            go_client,
            mesh.router_address,
            "-composition",
            "quickstart",
            "-text",
            "I forgot my password",
        )
    )
    assert answer["output_type"] == "tutti.v1.Text"
    assert ACCOUNT_REPLY in answer["output"]["text"]
    assert "-- The Tutti support team" in answer["output"]["text"]
    execution = answer["execution"]
    assert [s["stage"] for s in execution["stages"]] == ["triage", "account", "sign_off"]
    assert all(s["status"] == "STATUS_OK" for s in execution["stages"]), execution["stages"]
    assert all(s["latency_ms"] >= 0 for s in execution["stages"])
    assert any("route:triage=account" in step for step in execution["path"]), execution["path"]
    # triage $0.0001 + account $0.002; sign_off is free.
    assert sum(s["cost_usd"] for s in execution["stages"]) == pytest.approx(0.0021)
    assert execution["total_cost_usd"] == pytest.approx(0.0021)


def test_unknown_composition_is_not_found(go_client: Path, mesh: Mesh) -> None:
    result = route(
        go_client, mesh.router_address, "-composition", "no-such-composition", "-text", "hello"
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: NOT_FOUND: "), result.stderr
    assert "no-such-composition" in result.stderr


def test_an_unreachable_router_is_a_grpc_error(go_client: Path) -> None:
    result = route(
        go_client, "127.0.0.1:1", "-timeout", "3s", "-composition", "quickstart", "-text", "hi"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ") or result.stderr.startswith(
        "error: DEADLINE_EXCEEDED: "
    ), result.stderr


def test_a_bad_type_is_a_usage_error(go_client: Path) -> None:
    result = route(go_client, "127.0.0.1:1", "-type", "nope", "-text", "hi")
    assert result.returncode == 2
    assert "-type must be text or support" in result.stderr
