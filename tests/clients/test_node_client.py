"""The Node.js client (clients/node/route.js) against a real quickstart mesh."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import CALL_TIMEOUT_S, NODE_CLIENT, require_tool
from workbench.mesh import Mesh

ACCOUNT_REPLY = "To reset your password, open Settings > Security and choose 'Reset password'."


@pytest.fixture(scope="module")
def node() -> str:
    path = require_tool("node", "install Node.js 18 or newer (CI has it)")
    if not (NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail(
            f"the Node client's packages are not installed in {NODE_CLIENT / 'node_modules'}: "
            "run `npm ci --prefix clients/node` (`make test` does)",
            pytrace=False,
        )
    return path


def route(node: str, mesh: Mesh, descriptors: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        node,
        str(NODE_CLIENT / "route.js"),
        "--router",
        mesh.router_address,
        "--descriptors",
        str(descriptors),
        "--timeout-ms",
        "10000",
        *args,
    ]
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


def test_route_packs_the_input_type_the_router_lists(
    node: str, mesh: Mesh, descriptors: Path
) -> None:
    answer = printed(
        route(
            node, mesh, descriptors, "--composition", "quickstart", "--text", "I forgot my password"
        )
    )
    assert answer["output_type"] == "tutti.v1.Text"
    check_account_answer(answer)


def test_route_with_an_explicit_type_and_json_fields(
    node: str, mesh: Mesh, descriptors: Path
) -> None:
    fields = json.dumps({"text": "I forgot my password"})
    result = route(
        node,
        mesh,
        descriptors,
        "--composition",
        "quickstart",
        "--input-type",
        "tutti.v1.Text",
        "--json",
        fields,
    )
    check_account_answer(printed(result))


def test_unknown_composition_is_not_found(node: str, mesh: Mesh, descriptors: Path) -> None:
    # With a type given, the router's own NOT_FOUND comes back through Route.
    result = route(
        node,
        mesh,
        descriptors,
        "--composition",
        "no-such-composition",
        "--input-type",
        "tutti.v1.Text",
        "--text",
        "hello",
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: NOT_FOUND: "), result.stderr
    assert "no-such-composition" in result.stderr
    # Without one, the client finds the name missing from ListCompositions first.
    result = route(node, mesh, descriptors, "--composition", "no-such-composition", "--text", "hi")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: NOT_FOUND: "), result.stderr


def test_a_field_the_input_type_lacks_is_refused(node: str, mesh: Mesh, descriptors: Path) -> None:
    result = route(
        node, mesh, descriptors, "--composition", "quickstart", "--json", '{"txt": "typo"}'
    )
    assert result.returncode == 2
    assert "tutti.v1.Text has no field txt" in result.stderr


def test_an_unreachable_router_is_a_grpc_error(node: str, descriptors: Path) -> None:
    argv = [
        node,
        str(NODE_CLIENT / "route.js"),
        "--router",
        "127.0.0.1:1",
        "--descriptors",
        str(descriptors),
        "--timeout-ms",
        "3000",
        "--composition",
        "quickstart",
        "--text",
        "hi",
    ]
    result = subprocess.run(
        argv, check=False, capture_output=True, text=True, timeout=CALL_TIMEOUT_S
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ") or result.stderr.startswith(
        "error: DEADLINE_EXCEEDED: "
    ), result.stderr


def test_map_fields_are_json_objects(node: str, descriptors: Path) -> None:
    # Types from descriptors keep maps as {key, value} entries; the client converts both ways.
    script = f"""
const r = require({json.dumps(str(NODE_CLIENT / "route.js"))});
const d = r.loadTypes({json.dumps(str(descriptors))});
const t = r.indexTypes(d);
const name = 'tutti.support.v1.Resolution';
const any = r.pack(d, t, name, {{reply: 'x', triage: {{ticket: {{text: 'a'}},
  intent: {{label: 'cards', confidence: 0.75, scores: {{cards: 0.75, cash: 0.25}}}},
  department: 'cards'}}}});
console.log(JSON.stringify({{type_url: any.type_url, message: r.unpack(d, t, any, name)}}));
"""
    result = subprocess.run(
        [node, "-e", script], check=False, capture_output=True, text=True, timeout=CALL_TIMEOUT_S
    )
    answer = printed(result)
    assert answer["type_url"] == "type.googleapis.com/tutti.support.v1.Resolution"
    intent = answer["message"]["triage"]["intent"]
    assert intent["scores"] == {"cards": 0.75, "cash": 0.25}
    assert intent["label"] == "cards"
    assert answer["message"]["reply"] == "x"
