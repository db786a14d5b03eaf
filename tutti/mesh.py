"""Start every service a composition needs as child processes on loopback."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

from tutti.errors import ConfigError, Problem, TuttiError

if TYPE_CHECKING:
    from specialist_service import SpecialistConfig

__all__ = ["READY_PREFIX", "Mesh", "MeshError", "ready_line", "stage_config"]

READY_PREFIX = "tutti: serving "
START_TIMEOUT_S = 120.0


def ready_line(kind: str, address: str) -> str:
    """The line a service prints on stdout once it accepts requests."""
    return f"{READY_PREFIX}{kind} on {address}"


def stage_config(composition: str | Path, stage: str) -> SpecialistConfig:
    """The specialist configuration in a composition stage's `serve:` block.

    The stage's declared input and output types apply unless the block sets
    its own; relative paths resolve against the composition's folder.
    """
    from router_service import read_composition
    from specialist_service import SpecialistConfig, key_lines

    path = Path(composition)
    spec = read_composition(path).stages.get(stage)
    if spec is None or spec.serve is None:
        why = "no such stage" if spec is None else "the stage has no `serve:` block"
        raise ConfigError(Problem(str(path), 0, why, stage))
    data = dict(spec.serve)
    for key, declared in (("input", spec.input), ("output", spec.output)):
        if declared:
            data.setdefault(key, declared)
    lines = key_lines(spec.serve)
    return SpecialistConfig.from_mapping(
        data, str(path), stage, base_dir=path.resolve().parent, lines=lines
    )


class MeshError(TuttiError):
    """A service of the mesh could not start."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]
    address: str = ""


@dataclass
class Mesh:
    """A composition's services, started as `tutti serve` children and stopped together.

    Stages with a `serve:` block become specialists, `kind: merger` stages
    become mergers, and the router starts last with every endpoint pointed at
    the ports the children actually bound.
    """

    composition: Path
    children: list[Child] = field(default_factory=list)
    router_address: str = ""
    endpoints: dict[str, str] = field(default_factory=dict)
    log_level: str = "WARNING"
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        composition: str | Path,
        router_port: int = 0,
        env: dict[str, str] | None = None,
        log_level: str = "WARNING",
    ) -> Mesh:
        # Imported here: the mesh needs only the stage list, not a running router.
        from router_service import read_composition

        path = Path(composition).resolve()
        draft = read_composition(path)
        child_env = {**os.environ, **(env or {})}
        # Python factories are looked up beside the composition file first.
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(path.parent), child_env.get("PYTHONPATH", "")) if p
        )
        mesh = cls(path, log_level=log_level, env=child_env)
        base = mesh._serve_argv()
        try:
            for name, spec in draft.stages.items():
                if spec.is_merger:
                    argv = [*base, "merger"]
                elif spec.serve is not None:
                    argv = [*base, "specialist", "--config", str(path), "--stage", name]
                else:
                    continue  # served elsewhere, at its declared endpoint
                mesh.children.append(Child(name, _spawn(argv, child_env)))
            for child in mesh.children:
                child.address = _wait_ready(child)
                mesh.endpoints[child.name] = child.address
            mesh.router_address = mesh.add_router([path], router_port)
        except BaseException:
            mesh.stop()
            raise
        return mesh

    def _serve_argv(self) -> list[str]:
        return [sys.executable, "-m", "tutti", "--log-level", self.log_level, "serve"]

    def add_router(self, compositions: list[Path], port: int = 0) -> str:
        """Start a router for `compositions` over this mesh's stages; return its address.

        Every composition must name its stages as the mesh's does, so that
        variants of one composition (other thresholds, say) share the stages.
        """
        argv = [*self._serve_argv(), "router", "--port", str(port)]
        for composition in compositions:
            argv += ["--config", str(composition)]
        for name, address in self.endpoints.items():
            argv += ["--endpoint", f"{name}={address}"]
        router = Child("router", _spawn(argv, self.env))
        self.children.append(router)
        return _wait_ready(router)

    def stop(self, grace_s: float = 10.0) -> None:
        """Drain the router first, then the stages it calls; SIGKILL what outlives the grace.

        Stopping the stages only after the router has exited means no request
        the router is still finishing meets a stage that already refuses calls.
        """
        routers = [c for c in self.children if c.name == "router"]
        stages = [c for c in self.children if c.name != "router"]
        for wave in (routers, stages):
            for child in wave:
                if child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            for child in wave:
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
                if child.process.stdout is not None:
                    child.process.stdout.close()
        self.children.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=None, text=True, env=env)


def _wait_ready(child: Child, timeout_s: float = START_TIMEOUT_S) -> str:
    """Read the child's stdout until its ready line; return the address it bound."""
    assert child.process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(child.process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MeshError(f"'{child.name}' did not become ready within {timeout_s:g}s")
            if not selector.select(timeout=remaining):
                continue
            line = child.process.stdout.readline()
            if not line:
                code = child.process.wait()
                raise MeshError(
                    f"'{child.name}' exited with code {code} before serving; see its log above"
                )
            if line.startswith(READY_PREFIX):
                return line.rstrip().rsplit(" on ", 1)[1]
            sys.stdout.write(line)
    finally:
        selector.close()
