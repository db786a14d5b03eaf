"""SIGTERM to a pod with requests in flight: they are answered, and the pod exits with code 0.

The drain composition's stage answers after 3 s and logs each request as it arrives, so the
signal is sent once every request is known to be in flight at the router and the specialist.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.deploy.clients import CALL_TIMEOUT_S, grpcurl_argv
from tests.deploy.containers import ROOT, docker, logs, wait_exited
from tests.deploy.pods import Deployment, deployed

# Past pyproject's 120 s: a models image and two containers per test.
pytestmark = pytest.mark.timeout(300)

DRAIN = ROOT / "tests" / "deploy" / "drain" / "composition.yaml"
IN_FLIGHT = 6
STARTED = "slow stage: started "
IN_FLIGHT_TIMEOUT_S = 30.0


@pytest.fixture
def drain(models_base: str) -> Iterator[Deployment]:
    with deployed(
        DRAIN, models_base, "tutti-drain", lambda stage: "specialist-sklearn"
    ) as deployment:
        yield deployment


def send(router: str) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            grpcurl_argv(router, "drain", "tutti.v1.Text", {"text": f"request {i}"}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(IN_FLIGHT)
    ]


def wait_in_flight(stage_container: str) -> None:
    """Poll the stage's log, against a deadline, until every request has reached it."""
    deadline = time.monotonic() + IN_FLIGHT_TIMEOUT_S
    while time.monotonic() < deadline:
        if logs(stage_container).count(STARTED) >= IN_FLIGHT:
            return
        time.sleep(0.05)  # a poll interval against the deadline
    raise AssertionError(f"the requests did not reach the stage:\n{logs(stage_container)}")


def answered(calls: list[subprocess.Popen[str]]) -> list[str]:
    texts = []
    for call in calls:
        out, err = call.communicate(timeout=CALL_TIMEOUT_S)
        assert call.returncode == 0, f"a request in flight failed: {err}"
        texts.append(json.loads(out)["output"]["text"])
    return sorted(texts)


def expected() -> list[str]:
    return sorted(f"answered request {i}" for i in range(IN_FLIGHT))


def test_sigterm_to_the_router_answers_the_requests_in_flight_and_exits_0(
    drain: Deployment,
) -> None:
    calls = send(drain.router.address)
    try:
        wait_in_flight(drain.services["slow"].name)
        docker("kill", "--signal", "TERM", drain.router.name)
        assert answered(calls) == expected()
    finally:
        for call in calls:
            call.kill()
    assert wait_exited(drain.router.name) == 0, logs(drain.router.name)


def test_sigterm_to_a_specialist_answers_the_requests_in_flight_and_exits_0(
    drain: Deployment,
) -> None:
    stage = drain.services["slow"].name
    calls = send(drain.router.address)
    try:
        wait_in_flight(stage)
        docker("kill", "--signal", "TERM", stage)
        assert answered(calls) == expected()
    finally:
        for call in calls:
            call.kill()
    assert wait_exited(stage) == 0, logs(stage)
