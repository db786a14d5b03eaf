"""A composition's pods from its models image: each served stage, each merger, then the router."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from router_service import read_composition
from tests.deploy.containers import ROOT, Pods, Service
from workbench.deploy import models_bundle

BUILD_TIMEOUT_S = 300.0


def deploy_build(composition: Path, base: str) -> str:
    """`tutti deploy build COMPOSITION --base BASE`, run as a user runs it; the image it names."""
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "deploy", "build", str(composition), "--base", base],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"tutti deploy build: exit {result.returncode}\n{result.stderr}"
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Deployment:
    """The running pods of one composition."""

    pods: Pods
    router: Service
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def containers(self) -> list[str]:
        return list(self.pods.containers)


@contextmanager
def deployed(
    composition: Path,
    base: str,
    prefix: str,
    role_of: Callable[[str], str],
) -> Iterator[Deployment]:
    """Start the composition as its rendered manifests would, and remove it all at the end.

    `role_of(stage)` names the specialist image of a served stage; each specialist is handed
    the digest of its own files (`--model-digest`), as the rendered manifests do.
    """
    bundle = models_bundle(composition)
    mergers = [
        name for name, spec in read_composition(composition).stages.items() if spec.is_merger
    ]
    pods = Pods(prefix, composition, deploy_build(composition, base))
    try:
        pods.fill()
        services: dict[str, Service] = {}
        for stage in bundle.stages:
            args = ["--stage", stage, "--model-digest", bundle.stage_digest(stage)]
            services[stage] = pods.start(role_of(stage), "specialist", stage, *args)
        for merger in mergers:
            services[merger] = pods.start("merger", "merger", merger)
        endpoints = [f"--endpoint={name}={s.address}" for name, s in services.items()]
        router = pods.start("router", "router", "router", *endpoints)
        yield Deployment(pods, router, services)
    finally:
        pods.close()
