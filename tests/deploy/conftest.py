"""A docker daemon started the way this machine allows, the role images."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.deploy.containers import DOCKERD, image, missing_images
from workbench.deploy import DEFAULT_BASE

DOCKERD_TIMEOUT_S = 120.0


@pytest.fixture(scope="session")
def docker_daemon() -> Iterator[None]:
    """A daemon that answers: the one running, or one started here and stopped at the end."""
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        pytest.fail(
            "docker is not installed: apt-get install -y docker.io debootstrap, then make images",
            pytrace=False,
        )
    started = subprocess.run(
        ["bash", str(DOCKERD), "start"],
        capture_output=True,
        text=True,
        timeout=DOCKERD_TIMEOUT_S,
        check=False,
    )
    if started.returncode != 0:
        pytest.fail(f"dockerd did not start:\n{started.stderr}", pytrace=False)
    yield
    if started.stdout.strip() == "started":
        subprocess.run(["bash", str(DOCKERD), "stop"], timeout=DOCKERD_TIMEOUT_S, check=False)


@pytest.fixture(scope="session")
def role_images(docker_daemon: None) -> None:
    """Every role image is built; a missing one fails the test (never skipped)."""
    missing = missing_images()
    if missing:
        pytest.fail(
            f"these images are not built: {', '.join(missing)}: run make images"
            " (deploy/images/build.sh)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def models_base(role_images: None) -> str:
    """The base of the models images: the offline base when it is there (it has /bin/cp)."""
    probe = subprocess.run(
        ["docker", "image", "inspect", DEFAULT_BASE], capture_output=True, timeout=60
    )
    return DEFAULT_BASE if probe.returncode == 0 else image("router")
