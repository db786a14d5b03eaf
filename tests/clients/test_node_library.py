"""The Node library (@tutti/client) used by a separate Node program, as a user's service would:
a user-typed composition and a streaming one behind a real router."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.clients.conftest import CALL_TIMEOUT_S, NODE_CLIENT, ROOT
from tests.clients.test_node_client import node  # noqa: F401  (a fixture)
from workbench.mesh import Mesh

USER_TYPES = ROOT / "tests" / "clients" / "user_types" / "composition.yaml"
COMPLETION = ROOT / "tests" / "clients" / "completion" / "composition.yaml"
PROGRAM = ROOT / "tests" / "clients" / "node_program" / "service.js"
# The streaming scenario loads a real model first.
STREAM_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def router() -> Iterator[str]:
    """acme-tickets (acme.v1.Ticket -> acme.v1.Answer) and reply (a streaming LLM) behind one router."""
    with Mesh.start([USER_TYPES, COMPLETION]) as started:
        yield started.router_address


def run(node_path: str, router: str, scenario: str, timeout: float = CALL_TIMEOUT_S) -> Any:
    # The package by its folder, as `require('@tutti/client')` resolves an installed one.
    argv = [node_path, str(PROGRAM), str(NODE_CLIENT), router, scenario]
    result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def errors(node: str, router: str) -> dict[str, Any]:  # noqa: F811  (the fixture above)
    """What each failing call threw, by what went wrong."""
    return run(node, router, "errors", timeout=STREAM_TIMEOUT_S)  # type: ignore[no-any-return]


def test_a_user_typed_ticket_goes_in_and_its_answer_comes_out_as_plain_objects(
    node: str,  # noqa: F811
    router: str,
) -> None:
    answer = run(node, router, "ticket")
    assert answer["outputType"] == "acme.v1.Answer"
    output = answer["output"]
    assert output["queue"] == "billing"
    # The repeated field reached the model; the enum and nested message came back by name.
    assert output["reply"] == "[billing] Refund please: tags vip,eu"
    assert output["urgency"] == "URGENCY_HIGH"
    assert output["customer"] == {"id": "c-7", "orders": "12"}  # int64 as a string
    # A map is a plain object, not a list of {key, value} entries.
    assert output["scores"] == {"billing": 1.0}
    execution = answer["execution"]
    assert execution["composition"] == "acme-tickets"
    assert [s["stage"] for s in execution["stages"]] == ["triage", "billing"]
    assert all(s["status"] == "STATUS_OK" for s in execution["stages"])
    assert execution["path"] == ["route:triage=billing->billing"]


def test_the_listing_names_each_composition_with_its_types(
    node: str,  # noqa: F811
    router: str,
) -> None:
    listing = {c["name"]: c for c in run(node, router, "list")}
    assert set(listing) == {"acme-tickets", "reply"}
    tickets = listing["acme-tickets"]
    assert (tickets["input_type"], tickets["output_type"]) == ("acme.v1.Ticket", "acme.v1.Answer")
    assert sorted(tickets["stages"]) == ["account", "billing", "general", "triage"]
    assert tickets["budget_latency_ms"] == 5000
    assert "descriptors" not in tickets


def test_an_unknown_composition_is_a_not_found_error_naming_what_is_served(
    errors: dict[str, Any],
) -> None:
    error = errors["unknownComposition"]
    assert (error["class"], error["code"], error["codeName"]) == ("NotFoundError", 5, "NOT_FOUND")
    assert error["isTuttiError"]
    assert "'no-such-composition'" in error["details"]
    assert "it serves: acme-tickets, reply" in error["details"]


@pytest.mark.parametrize(
    ("case", "field", "says"),
    [
        ("unknownField", "subjct", "acme.v1.Ticket has no field 'subjct'"),
        ("unknownNestedField", "customer.idd", "acme.v1.Customer has no field 'idd'"),
        ("unknownEnumValue", "urgency", '"URGENT" is not a acme.v1.Urgency'),
        ("wrongScalar", "customer.orders", "acme.v1.Customer.orders is of type int64"),
    ],
)
def test_input_the_type_cannot_hold_is_an_invalid_argument_naming_the_field(
    errors: dict[str, Any], case: str, field: str, says: str
) -> None:
    error = errors[case]
    assert (error["class"], error["code"], error["codeName"]) == (
        "InvalidArgumentError",
        3,
        "INVALID_ARGUMENT",
    )
    assert error["field"] == field
    assert says in error["details"]


def test_a_call_past_its_deadline_is_a_deadline_exceeded_error(errors: dict[str, Any]) -> None:
    error = errors["deadline"]
    assert (error["class"], error["code"], error["codeName"]) == (
        "DeadlineExceededError",
        4,
        "DEADLINE_EXCEEDED",
    )


def test_an_unreachable_router_is_an_unavailable_error(errors: dict[str, Any]) -> None:
    error = errors["unreachableRouter"]
    assert (error["class"], error["code"], error["codeName"]) == (
        "UnavailableError",
        14,
        "UNAVAILABLE",
    )
    assert error["isTuttiError"]


def test_a_completion_streams_its_text_in_chunks_then_the_response(
    node: str,  # noqa: F811
    router: str,
) -> None:
    seen = run(node, router, "stream", timeout=STREAM_TIMEOUT_S)
    chunks = seen["chunks"]
    assert len(chunks) > 1, chunks  # token by token, not one piece
    response = seen["response"]
    assert response["outputType"] == "tutti.v1.Completion"
    assert response["output"]["text"] == "".join(chunks).strip()
    assert [s["stage"] for s in response["execution"]["stages"]] == ["writer"]
    assert response["execution"]["stages"][0]["model"].startswith("SmolLM2-135M")
    # Leaving the loop after one chunk cancels the call and rejects the response.
    assert len(seen["firstOfLeft"]) == 1
    left = seen["leftResponse"]
    assert (left["class"], left["codeName"]) == ("TuttiError", "CANCELLED")


def test_a_completion_nobody_reads_still_answers_and_a_cancelled_one_rejects(
    node: str,  # noqa: F811
    router: str,
) -> None:
    """Awaiting `response` alone runs the call; `cancel()` before reading rejects it, CANCELLED."""
    seen = run(node, router, "unread", timeout=STREAM_TIMEOUT_S)
    response = seen["response"]
    assert response["outputType"] == "tutti.v1.Completion"
    assert [s["stage"] for s in response["execution"]["stages"]] == ["writer"]
    # The unread text waited in the stream: read afterwards, it is the whole answer.
    chunks = seen["chunksAfter"]
    assert len(chunks) > 1, chunks
    assert response["output"]["text"] == "".join(chunks).strip()
    for case in ("cancelledResponse", "cancelledRead"):
        error = seen[case]
        assert (error["class"], error["codeName"]) == ("TuttiError", "CANCELLED"), case
        assert error["details"] == "cancelled by the caller", case
