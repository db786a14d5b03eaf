"""tutti-route, the Go client's command (clients/go/cmd/tutti-route), against real meshes.

build.sh builds it offline as a Go module from Debian's Go sources (`make go-client` installs
them); it is built once per module. It reads every composition's types from the router.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import CALL_TIMEOUT_S, ROOT, require_tool
from tests.clients.go_build import BUILD_TIMEOUT_S, GO_BUILD, GO_CLIENT, HOW, checked
from workbench.mesh import Mesh

ACCOUNT_REPLY = "reset your password"
QUICKSTART_STAGES = ROOT / "examples" / "quickstart" / "stages.py"

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S)


@pytest.fixture(scope="module")
def go_client() -> Path:
    require_tool("go", HOW)
    checked([str(GO_CLIENT / "build.sh")], "clients/go/build.sh")
    binary = GO_BUILD / "bin" / "tutti-route"
    assert binary.is_file(), binary
    return binary


@pytest.fixture(scope="module")
def triage_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """The quickstart's triage stage alone: tutti.v1.Text in, tutti.v1.Classification out."""
    folder = tmp_path_factory.mktemp("triage")
    shutil.copy(QUICKSTART_STAGES, folder / "stages.py")
    path = folder / "composition.yaml"
    path.write_text(
        "composition: triage\n"
        "input: tutti.v1.Text\n"
        "output: tutti.v1.Classification\n"
        "stages:\n"
        "  triage: {input: tutti.v1.Text, output: tutti.v1.Classification,\n"
        '           serve: {backend: python, factory: "stages:triage"}}\n'
        "flow: triage\n"
    )
    with Mesh.start(path) as started:
        yield started


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


def test_a_classification_answer_is_printed_from_the_descriptors(
    go_client: Path, triage_mesh: Mesh
) -> None:
    """The command knows no payload type: tutti.v1.Classification comes from ListCompositions."""
    answer = printed(
        route(
            go_client,
            triage_mesh.router_address,
            "-composition",
            "triage",
            "-json",
            json.dumps({"text": "I forgot my password"}),
        )
    )
    assert answer["output_type"] == "tutti.v1.Classification"
    assert answer["output"]["label"] == "account"
    assert 0.5 <= answer["output"]["confidence"] <= 1.0
    assert [s["stage"] for s in answer["execution"]["stages"]] == ["triage"]


def test_list_prints_each_composition_and_its_types(go_client: Path, mesh: Mesh) -> None:
    listed = printed(route(go_client, mesh.router_address, "-list"))
    assert [(c["name"], c["input_type"], c["output_type"]) for c in listed] == [
        ("quickstart", "tutti.v1.Text", "tutti.v1.Text")
    ]
    assert "triage" in listed[0]["stages"]


def test_unknown_composition_is_not_found(go_client: Path, mesh: Mesh) -> None:
    result = route(
        go_client, mesh.router_address, "-composition", "no-such-composition", "-text", "hello"
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: NOT_FOUND: "), result.stderr
    assert "no-such-composition" in result.stderr


def test_an_input_that_does_not_fit_the_type_is_invalid_argument(
    go_client: Path, mesh: Mesh
) -> None:
    result = route(
        go_client, mesh.router_address, "-composition", "quickstart", "-json", '{"txet": "hi"}'
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: INVALID_ARGUMENT: "), result.stderr
    assert "txet" in result.stderr


def test_an_unreachable_router_is_a_grpc_error(go_client: Path) -> None:
    result = route(
        go_client, "127.0.0.1:1", "-timeout", "3s", "-composition", "quickstart", "-text", "hi"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ") or result.stderr.startswith(
        "error: DEADLINE_EXCEEDED: "
    ), result.stderr


def test_input_that_is_not_json_is_a_usage_error(go_client: Path) -> None:
    result = route(go_client, "127.0.0.1:1", "-json", "{not json")
    assert result.returncode == 2
    assert "-json is not JSON" in result.stderr
