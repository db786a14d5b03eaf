"""The support desk in containers: its trained models in its models image, the sklearn and
embeddings specialists, the merger and the router; 100 tickets through grpcurl and through the
Node client; every pod stops on SIGTERM with exit code 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.clients import route_with_grpcurl, route_with_node
from tests.deploy.containers import ROOT, docker, wait_exited
from tests.deploy.pods import Deployment, deployed
from workbench.deploy import models_bundle

# Past pyproject's 120 s: training the desk's models the first time (minutes), thirteen
# containers, 200 client processes.
pytestmark = pytest.mark.timeout(1200)

DESK = ROOT / "examples" / "support-desk"
COMPOSITION = DESK / "composition.yaml"
REQUESTS = 100
TICKETS = [
    "my card payment was declined at the shop",
    "how do I top up my account with a bank transfer?",
    "the ATM kept my cash and did not give me any money",
    "I want to dispute a payment I did not make",
    "what exchange rate do you use for euros?",
]
DEPARTMENTS = set(yaml.safe_load((DESK / "departments.yaml").read_text(encoding="utf-8")))


def role_of(stage: str) -> str:
    # `strong` classifies sentence embeddings (MiniLM on torch); every other model is TF-IDF.
    return "specialist-embeddings" if stage == "strong" else "specialist-sklearn"


@pytest.fixture(scope="module")
def desk(models_base: str, model_digest_flag: bool) -> Iterator[Deployment]:
    from workbench.demo import ensure_models

    ensure_models(DESK)  # trains them the first time (minutes); a no-op while they match
    with deployed(COMPOSITION, models_base, "tutti-desk", role_of, model_digest_flag) as deployment:
        yield deployment


def check_resolution(output: dict[str, Any]) -> None:
    assert output["reply"], output
    assert output["triage"]["department"] in DEPARTMENTS | {"general"}, output
    assert output["triage"]["intent"]["label"], output


def test_the_models_image_carries_every_trained_model_and_the_desks_module(
    desk: Deployment,
) -> None:
    bundle = models_bundle(COMPOSITION)
    assert desk.pods.models_image == bundle.image
    found = set(docker("run", "--rm", bundle.image, "find", "/models", "-type", "f").split())
    assert {f"/models/{name}" for name in bundle.files} == found
    for expected in ("desk.py", "departments.yaml", "models/triage/model.joblib"):
        assert f"/models/{expected}" in found
    assert any(name.startswith("/models/models/strong/") for name in found)


def test_a_hundred_tickets_through_grpcurl(desk: Deployment) -> None:
    for i in range(REQUESTS):
        answer = route_with_grpcurl(
            desk.router.address,
            "support-desk",
            "tutti.support.v1.Ticket",
            {"id": f"t{i}", "text": TICKETS[i % len(TICKETS)]},
        )
        check_resolution(answer["output"])
        stages = [s["stage"] for s in answer["execution"]["stages"]]
        assert stages[0] == "triage" and stages[-1] == "responder", stages


def test_a_hundred_tickets_through_the_node_client(desk: Deployment, descriptors: Path) -> None:
    for i in range(REQUESTS):
        answer = route_with_node(
            desk.router.address,
            "support-desk",
            descriptors,
            {"id": f"n{i}", "text": TICKETS[i % len(TICKETS)]},
        )
        check_resolution(answer["output"])
        assert all(s["status"] == "STATUS_OK" for s in answer["execution"]["stages"])


def test_every_pod_stops_on_sigterm_with_exit_code_0(desk: Deployment) -> None:
    """The last test of the module: the router first, then the merger and the specialists."""
    for container in reversed(desk.containers):
        docker("kill", "--signal", "TERM", container)
        assert wait_exited(container) == 0, container
