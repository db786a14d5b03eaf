"""The docker side of the container tests: the daemon, the role images, one composition's pods.

Every container runs as the manifests run a pod: on the host's network (this machine has no
bridge), uid 10001, a read-only root with a tmpfs /tmp, no capabilities, no new privileges,
the composition's folder a volume filled from its models image and composition.yaml
mounted read-only inside it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from workbench.deploy import VERSION

ROOT = Path(__file__).resolve().parents[2]
DOCKERD = ROOT / "deploy" / "images" / "dockerd.sh"
ROLES = ("router", "merger", "specialist-sklearn", "specialist-embeddings", "specialist-llm")
FOLDER = "/srv/composition"
COMPOSITION = f"{FOLDER}/composition.yaml"
# What one docker command, and the wait for a service to serve, may take at most.
DOCKER_TIMEOUT_S = 180.0
SERVING_TIMEOUT_S = 90.0
# The manifests' securityContext, as docker run flags.
HARDENING = (
    "--network",
    "host",
    "--user",
    "10001:10001",
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)


def image(role: str) -> str:
    return f"tutti-{role}:{VERSION}"


def docker(*args: str, timeout: float = DOCKER_TIMEOUT_S) -> str:
    """Run `docker ARGS`; its stdout, or an AssertionError with its stderr."""
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: exit {result.returncode}\n{result.stderr}")
    return result.stdout


def missing_images(roles: Iterable[str] = ROLES) -> list[str]:
    found = []
    for role in roles:
        probe = subprocess.run(
            ["docker", "image", "inspect", image(role)], capture_output=True, timeout=60
        )
        if probe.returncode != 0:
            found.append(image(role))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_serving(address: str, container: str) -> None:
    """Poll the service's health until SERVING; fail with its log if it exits or never does."""
    deadline = time.monotonic() + SERVING_TIMEOUT_S
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if state(container)["Status"] != "running":
                break
            time.sleep(0.2)  # a poll interval against the deadline, not a synchronisation
    raise AssertionError(f"{container} is not serving on {address}:\n{logs(container)}")


def state(container: str) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(docker("inspect", "-f", "{{json .State}}", container))
    return parsed


def logs(container: str) -> str:
    result = subprocess.run(
        ["docker", "logs", "--tail", "60", container],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout + result.stderr


def wait_exited(container: str, timeout: float = 60.0) -> int:
    """The container's exit code once it has stopped (bounded)."""
    return int(docker("wait", container, timeout=timeout).strip())


@dataclass
class Service:
    """One running container: its name and the loopback address it serves."""

    name: str
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Pods:
    """The containers and the volume of one composition, removed by `close` whatever happened."""

    prefix: str
    composition: Path
    models_image: str
    extra_flags: tuple[str, ...] = ()
    volume: str = ""
    containers: list[str] = field(default_factory=list)

    def fill(self) -> None:
        """The composition's folder as an initContainer fills it: the models image's files."""
        name = f"{self.prefix}-composition"
        # A run that was killed leaves its volume: never fill on top of old files.
        _remove("volume", "rm", "--force", name)
        self.volume = docker("volume", "create", name).strip()
        docker(
            "run", "--rm", "--network", "host", "-v", f"{self.volume}:{FOLDER}",
            self.models_image, "cp", "-a", "/models/.", f"{FOLDER}/",
        )  # fmt: skip

    def start(self, role: str, kind: str, name: str, *args: str) -> Service:
        """Start `tutti serve KIND --config composition.yaml ARGS` and wait until it serves."""
        port = free_port()
        container = f"{self.prefix}-{name.replace('_', '-')}"
        _remove("rm", "--force", container)  # one a killed run left behind
        docker(
            "run", "--detach", "--name", container, *HARDENING, *self.extra_flags,
            "-v", f"{self.volume}:{FOLDER}",
            "-v", f"{self.composition.resolve()}:{COMPOSITION}:ro",
            image(role), "serve", kind, "--config", COMPOSITION,
            "--host", "127.0.0.1", "--port", str(port), *args,
        )  # fmt: skip
        self.containers.append(container)
        service = Service(container, port)
        wait_serving(service.address, container)
        return service

    def close(self) -> None:
        if self.containers:
            _remove("rm", "--force", *self.containers)
        if self.volume:
            _remove("volume", "rm", "--force", self.volume)


def _remove(*args: str) -> None:
    """`docker ARGS`, whatever it answers: a removal of what may not be there."""
    subprocess.run(["docker", *args], capture_output=True, timeout=DOCKER_TIMEOUT_S, check=False)
