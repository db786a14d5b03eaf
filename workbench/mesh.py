"""Start every service that compositions need as child processes on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from workbench._children import (
    READY_PREFIX,
    START_TIMEOUT_S,
    Child,
    MeshError,
    ready_address,
    ready_line,
    release_stdout,
    restart,
    spawn,
    wait_ready,
    watch_output,
)
from workbench._stage_services import stage_services

__all__ = [
    "READY_PREFIX",
    "START_TIMEOUT_S",
    "Child",
    "Mesh",
    "MeshError",
    "ready_address",
    "ready_line",
    "restart",
    "watch_output",
]


@dataclass
class Mesh:
    """Compositions' services, started as `tutti serve` children and stopped together.

    Stages with a `serve:` block become specialists, `kind: merger` stages
    become mergers, one per stage name across the compositions, and one router
    starts last, serving them all, with every endpoint pointed at the ports the
    children actually bound.
    """

    # The first composition; `compositions` holds them all.
    composition: Path
    children: list[Child] = field(default_factory=list)
    router_address: str = ""
    endpoints: dict[str, str] = field(default_factory=dict)
    log_level: str = "WARNING"
    env: dict[str, str] = field(default_factory=dict)
    compositions: list[Path] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        compositions: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        router_port: int = 0,
        env: dict[str, str] | None = None,
        log_level: str = "WARNING",
        router: bool = True,
    ) -> Mesh:
        """Start the services of one composition file, or of several behind one router.

        Files that share a stage name share its service, so they must declare
        it alike: a ConfigError says where they do not, before anything starts.
        Without `router`, only the stages start (add one with `add_router`).
        """
        # Imported here: the mesh needs only the stage lists, not a running router.
        from router_service import read_composition

        listed = [compositions] if isinstance(compositions, str | os.PathLike) else compositions
        paths = [Path(c).resolve() for c in listed]
        if not paths:
            raise MeshError("no composition to start")
        services = stage_services([read_composition(path) for path in paths])
        child_env = {**os.environ, **(env or {})}
        # Python factories are looked up beside each composition file first.
        folders = dict.fromkeys(str(path.parent) for path in paths)
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (*folders, child_env.get("PYTHONPATH", "")) if p
        )
        mesh = cls(paths[0], log_level=log_level, env=child_env, compositions=paths)
        base = mesh._serve_argv()
        try:
            for service in services:
                argv = [*base, *service.serve_args()]
                mesh.children.append(Child(service.stage, spawn(argv, child_env), argv=argv))
            for child in mesh.children:
                child.address = wait_ready(child)
                mesh.endpoints[child.name] = child.address
            if router:
                mesh.router_address = mesh.add_router(paths, router_port)
        except BaseException:
            mesh.stop()
            raise
        return mesh

    def _serve_argv(self) -> list[str]:
        return [sys.executable, "-m", "workbench", "--log-level", self.log_level, "serve"]

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
        router = Child("router", spawn(argv, self.env), argv=argv)
        self.children.append(router)
        router.address = wait_ready(router)
        return router.address

    def stop(self, grace_s: float = 10.0) -> None:
        """Drain the router first, then the stages it calls; SIGKILL what outlives the grace.

        Stopping the stages only after the router has exited means no request
        the router is still finishing meets a stage that already refuses calls.
        A second Ctrl-C (or SIGTERM) while this runs is held until every child
        is gone, and raised then.
        """
        with _interrupts_held():
            try:
                self._stop(grace_s)
            except KeyboardInterrupt:
                # Only an interrupt already on its way when stop began gets here: the user
                # insists, so kill what is left rather than leave it running, then let it through.
                self._kill()
                raise
            finally:
                self.children.clear()

    def _stop(self, grace_s: float) -> None:
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
                release_stdout(child)

    def _kill(self) -> None:
        for child in self.children:
            if child.process.poll() is None:
                child.process.kill()
            child.process.wait()
            release_stdout(child)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver the first that came.

    Swapping the handlers, not masking the signals: the kernel hands a Ctrl-C to
    any thread that does not mask it, such as the output forwarders, and Python
    then runs the handler on the main thread all the same. Handlers run on the
    main thread only, so elsewhere there is nothing to hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        received.append(signum)

    # A handler installed outside Python reads as None and could not be put back: leave it.
    held = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not None]
    previous = {sig: signal.signal(sig, hold) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])
