"""The quickstart in containers: its models image, one pod per stage and the router, 100 requests
through grpcurl and through the Node client, the pods' hardening, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.clients import concurrently, route_with_grpcurl, route_with_node
from tests.deploy.containers import ROOT, docker, wait_exited
from tests.deploy.pods import Deployment, deployed
from workbench.deploy import models_bundle

# Past pyproject's 120 s: a models image, seven containers and 200 client processes.
pytestmark = pytest.mark.timeout(600)

QUICKSTART = ROOT / "examples" / "quickstart" / "composition.yaml"
REQUESTS = 100
# Each message, the department the keyword triage sends it to, and the start of its reply.
MESSAGES = [
    ("I forgot my password", "account", "To reset your password"),
    ("I was charged twice, please refund", "billing", "We have opened a billing review"),
    ("my parcel has not arrived", "shipping", "Your parcel is on its way"),
    ("hello there", "general", "Thanks for writing in"),
]


@pytest.fixture(scope="module")
def quickstart(models_base: str) -> Iterator[Deployment]:
    # The quickstart's stages are plain python: the lightest specialist image serves them.
    with deployed(
        QUICKSTART, models_base, "tutti-qs", lambda stage: "specialist-sklearn"
    ) as deployment:
        yield deployment


def test_the_models_image_carries_the_stages_module_and_is_named_by_its_digest(
    quickstart: Deployment,
) -> None:
    bundle = models_bundle(QUICKSTART)
    assert quickstart.pods.models_image == bundle.image
    assert bundle.image.startswith("tutti-models-quickstart:")
    files = docker(
        "run", "--rm", "--network", "host", bundle.image, "find", "/models", "-type", "f"
    )
    assert sorted(files.split()) == ["/models/stages.py"]
    labels = json.loads(docker("image", "inspect", "-f", "{{json .Config.Labels}}", bundle.image))
    assert labels["dev.tutti.models.digest"] == bundle.digest


def test_every_pod_runs_as_10001_read_only_without_capabilities(quickstart: Deployment) -> None:
    for container in quickstart.containers:
        config = json.loads(docker("inspect", "-f", "{{json .}}", container))
        assert config["Config"]["User"] == "10001:10001", container
        host = config["HostConfig"]
        assert host["ReadonlyRootfs"] is True, container
        assert host["CapDrop"] == ["ALL"], container
        assert "no-new-privileges" in host["SecurityOpt"], container
        assert host["NetworkMode"] == "host", container
        assert docker("exec", container, "id", "-u").strip() == "10001"
        # The root filesystem refuses a write as read-only; /tmp (the caches) takes one.
        refused = docker("exec", container, "sh", "-c", "touch /opt/tutti/x 2>&1 || true")
        assert "Read-only file system" in refused, (container, refused)
        docker("exec", container, "touch", "/tmp/written")


def test_a_hundred_requests_through_grpcurl(quickstart: Deployment) -> None:
    def message(i: int) -> dict[str, Any]:
        text = MESSAGES[i % len(MESSAGES)][0]
        return route_with_grpcurl(
            quickstart.router.address, "quickstart", "tutti.v1.Text", {"text": text}
        )

    for i, answer in enumerate(concurrently(message, REQUESTS)):
        _, department, reply = MESSAGES[i % len(MESSAGES)]
        assert answer["output"]["text"].startswith(reply), answer
        stages = [s["stage"] for s in answer["execution"]["stages"]]
        assert stages[-1] == "sign_off" and department in stages, stages


def test_a_hundred_requests_through_the_node_client(quickstart: Deployment) -> None:
    for i in range(REQUESTS):
        text, department, reply = MESSAGES[i % len(MESSAGES)]
        answer = route_with_node(quickstart.router.address, "quickstart", {"text": text})
        assert answer["output"]["text"].startswith(reply), answer
        execution = answer["execution"]
        assert all(s["status"] == "STATUS_OK" for s in execution["stages"]), execution


def test_every_pod_stops_on_sigterm_with_exit_code_0(quickstart: Deployment) -> None:
    """The last test of the module: it stops the pods (the router first, as a rollout would)."""
    for container in reversed(quickstart.containers):
        docker("kill", "--signal", "TERM", container)
        assert wait_exited(container) == 0, container
