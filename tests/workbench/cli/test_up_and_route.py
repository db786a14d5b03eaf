"""`tutti up` and `tutti route` end to end: the quickstart brought up on 127.0.0.1 and routed."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.workbench.cli.running import (
    QUICKSTART,
    STOP_TIMEOUT_S,
    Up,
    child_pids,
    free_port,
    refuses_connections,
    tutti,
)

SIGN_OFF = "-- The Tutti support team"
# The escalation stage's price in the quickstart, plus triage's.
ESCALATED_COST_USD = 0.06 + 0.0001


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """The quickstart brought up once by `tutti up` for the routing tests; Ctrl-C'd after."""
    up = Up.start(QUICKSTART, free_port(), tmp_path_factory.mktemp("up") / "stderr.log")
    try:
        yield up
    finally:
        up.stop(signal.SIGINT)


def route(up: Up, composition: str, input_json: str) -> subprocess.CompletedProcess[str]:
    return tutti("route", composition, "--router", up.endpoints["router"], "--json", input_json)


def routed(up: Up, composition: str, input_json: str) -> dict[str, Any]:
    result = route(up, composition, input_json)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def stage_names(execution: dict[str, Any]) -> list[str]:
    return [stage["stage"] for stage in execution["stages"]]


# -- check ---------------------------------------------------------------------


# -- up and route --------------------------------------------------------------


def test_up_prints_every_endpoint(quickstart: Up) -> None:
    assert set(quickstart.endpoints) == {
        "triage",
        "account",
        "billing",
        "shipping",
        "general",
        "sign_off",
        "router",
    }
    assert quickstart.stdout[-1] == "Ctrl-C stops every service."


def test_route_by_name_takes_the_account_path(quickstart: Up) -> None:
    data = routed(quickstart, "quickstart", '{"text": "I forgot my password"}')

    text = data["output"]["text"]
    assert "To reset your password" in text
    assert text.endswith(SIGN_OFF)
    assert stage_names(data["execution"]) == ["triage", "account", "sign_off"]
    assert data["execution"]["composition"] == "quickstart"


def test_route_accepts_the_composition_file_instead_of_its_name(quickstart: Up) -> None:
    data = routed(quickstart, QUICKSTART, '{"text": "I forgot my password"}')

    assert stage_names(data["execution"]) == ["triage", "account", "sign_off"]
    assert data["output"]["text"].endswith(SIGN_OFF)


def test_route_escalates_an_unclear_message_to_general(quickstart: Up) -> None:
    data = routed(quickstart, "quickstart", '{"text": "hello"}')

    execution = data["execution"]
    assert stage_names(execution) == ["triage", "general", "sign_off"]
    assert any("escalate:general" in step for step in execution["path"]), execution["path"]
    assert execution["totalCostUsd"] == pytest.approx(ESCALATED_COST_USD)
    assert data["output"]["text"].endswith(SIGN_OFF)


def test_route_names_an_unknown_json_field_without_a_traceback(quickstart: Up) -> None:
    result = route(quickstart, "quickstart", '{"txt": "hello"}')

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("tutti: --json is not a valid tutti.v1.Text")
    assert '"txt"' in result.stderr
    assert "Traceback" not in result.stderr


def test_route_to_an_unknown_composition_lists_what_the_router_serves(quickstart: Up) -> None:
    result = route(quickstart, "nope", '{"text": "hello"}')

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"tutti: router {quickstart.endpoints['router']} does not serve 'nope' (it serves: quickstart)"
    )


def test_up_stops_every_service_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    up = Up.start(QUICKSTART, port, tmp_path / "stderr.log")
    try:
        assert up.endpoints["router"] == f"127.0.0.1:{port}"
        children = child_pids(up.process.pid)
        if Path("/proc").is_dir():
            assert len(children) == len(up.endpoints), children  # one process per service
        code = up.stop(signal.SIGTERM)
    finally:
        if up.process.poll() is None:  # an assertion failed before the stop
            up.stop(signal.SIGTERM)

    assert code == 0, up.output()
    assert "stopping ..." in up.stdout
    still_listening = [
        name for name, address in up.endpoints.items() if not refuses_connections(address)
    ]
    assert still_listening == [], up.output()
    # `up` waits for its children, so none is left behind, not even as a zombie.
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []
    assert "Traceback" not in up.log.read_text()


def test_killing_up_hard_takes_every_service_with_it(tmp_path: Path) -> None:
    """The tests' last resort against a hung `up` must not leave its services serving."""
    up = Up.start(QUICKSTART, free_port(), tmp_path / "stderr.log")
    try:
        assert len(up.endpoints) == 7
    finally:
        up.kill()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while still_listening := [a for a in up.endpoints.values() if not refuses_connections(a)]:
        assert time.monotonic() < deadline, f"still serving after SIGKILL: {still_listening}"
        time.sleep(0.1)
