"""The Node.js command line (clients/node/bin/tutti-route.js) against a real quickstart mesh."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.clients.conftest import CALL_TIMEOUT_S, NODE_CLIENT, node_with_packages
from workbench.mesh import Mesh

NODE_CLI = NODE_CLIENT / "bin" / "tutti-route.js"
ACCOUNT_REPLY = "To reset your password, open Settings > Security and choose 'Reset password'."


@pytest.fixture(scope="module")
def node() -> str:
    """Node.js, with the client's packages installed from the committed lock."""
    return node_with_packages()


def tutti_route(node: str, router: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [node, str(NODE_CLI), "--router", router, "--timeout-ms", "10000", *args]
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=CALL_TIMEOUT_S)


def printed(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr}"
    return json.loads(result.stdout)


def check_account_answer(answer: Any) -> None:
    assert answer["output"]["text"].startswith(ACCOUNT_REPLY)
    assert "-- The Tutti support team" in answer["output"]["text"]
    execution = answer["execution"]
    assert [s["stage"] for s in execution["stages"]] == ["triage", "account", "sign_off"]
    assert all(s["status"] == "STATUS_OK" for s in execution["stages"])
    assert any("route:triage=account" in step for step in execution["path"]), execution["path"]
    # triage $0.0001 + account $0.002; sign_off is free.
    assert execution["total_cost_usd"] == pytest.approx(0.0021)


def test_route_packs_the_input_type_the_router_lists(node: str, mesh: Mesh) -> None:
    answer = printed(
        tutti_route(
            node,
            mesh.router_address,
            "--composition",
            "quickstart",
            "--text",
            "I forgot my password",
        )
    )
    assert answer["output_type"] == "tutti.v1.Text"
    check_account_answer(answer)


def test_route_with_json_fields_and_a_matching_input_type(node: str, mesh: Mesh) -> None:
    fields = json.dumps({"text": "I forgot my password"})
    result = tutti_route(
        node,
        mesh.router_address,
        "--composition",
        "quickstart",
        "--input-type",
        "tutti.v1.Text",
        "--json",
        fields,
        "--no-cache",
        "--max-cost-usd",
        "1",
    )
    check_account_answer(printed(result))


def test_an_input_type_the_composition_does_not_take_is_refused(node: str, mesh: Mesh) -> None:
    result = tutti_route(
        node,
        mesh.router_address,
        "--composition",
        "quickstart",
        "--input-type",
        "acme.v1.Ticket",
        "--text",
        "hi",
    )
    assert result.returncode == 2, result.stderr
    assert "takes a tutti.v1.Text, not a acme.v1.Ticket" in result.stderr


def test_list_prints_each_composition_with_its_types(node: str, mesh: Mesh) -> None:
    listing = printed(tutti_route(node, mesh.router_address, "--list"))
    assert [(c["name"], c["input_type"], c["output_type"]) for c in listing] == [
        ("quickstart", "tutti.v1.Text", "tutti.v1.Text")
    ]
    assert "descriptors" not in listing[0]


def test_unknown_composition_is_not_found(node: str, mesh: Mesh) -> None:
    result = tutti_route(
        node, mesh.router_address, "--composition", "no-such-composition", "--text", "hello"
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: NOT_FOUND: "), result.stderr
    assert "no-such-composition" in result.stderr
    assert "it serves: quickstart" in result.stderr


def test_a_field_the_input_type_lacks_is_refused(node: str, mesh: Mesh) -> None:
    result = tutti_route(
        node, mesh.router_address, "--composition", "quickstart", "--json", '{"txt": "typo"}'
    )
    assert result.returncode == 2
    assert "error: INVALID_ARGUMENT: tutti.v1.Text has no field 'txt'" in result.stderr


def test_a_cost_cap_below_the_first_stage_is_resource_exhausted(node: str, mesh: Mesh) -> None:
    """--max-cost-usd reaches the router: triage alone costs $0.0001."""
    result = tutti_route(
        node,
        mesh.router_address,
        "--composition",
        "quickstart",
        "--text",
        "I forgot my password",
        "--max-cost-usd",
        "0.00001",
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: RESOURCE_EXHAUSTED: "), result.stderr
    assert "cost cap" in result.stderr


def test_an_unreachable_router_is_a_grpc_error(node: str) -> None:
    result = tutti_route(node, "127.0.0.1:1", "--composition", "quickstart", "--text", "hi")
    assert result.returncode == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ") or result.stderr.startswith(
        "error: DEADLINE_EXCEEDED: "
    ), result.stderr


def test_the_descriptors_flag_is_gone_and_says_why(node: str) -> None:
    result = tutti_route(node, "127.0.0.1:1", "--descriptors", "tutti.binpb", "--list")
    assert result.returncode == 2
    assert "no longer needed: the types come from the router" in result.stderr


def test_help_teaches_the_flags_and_exits_zero(node: str) -> None:
    result = subprocess.run(
        [node, str(NODE_CLI), "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_S,
    )
    assert result.returncode == 0
    for flag in ("--router", "--composition", "--json", "--text", "--stream", "--list"):
        assert flag in result.stdout
    assert "Examples:" in result.stdout
