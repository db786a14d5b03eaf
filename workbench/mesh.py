"""Start every service a composition needs as child processes on loopback."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Self

from tutti.errors import TuttiError

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

READY_PREFIX = "tutti: serving "
START_TIMEOUT_S = 120.0
# How long stop() waits for a child's last output to be copied after the child exited.
OUTPUT_DRAIN_S = 2.0


def ready_line(kind: str, address: str) -> str:
    """The line a service prints on stdout once it accepts requests."""
    return f"{READY_PREFIX}{kind} on {address}"


class MeshError(TuttiError):
    """A service of the mesh could not start."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]
    address: str = ""
    # How it was started; a restart adds `--port` with the port it bound the first time.
    argv: list[str] = field(default_factory=list)
    # Copies the child's stdout once it is ready; it owns (and closes) the pipe from then on.
    forwarder: threading.Thread | None = None


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
                    argv = [*base, "merger", "--config", str(path)]
                elif spec.serve is not None:
                    argv = [*base, "specialist", "--config", str(path), "--stage", name]
                else:
                    continue  # served elsewhere, at its declared endpoint
                mesh.children.append(Child(name, _spawn(argv, child_env), argv=argv))
            for child in mesh.children:
                child.address = _wait_ready(child)
                mesh.endpoints[child.name] = child.address
            mesh.router_address = mesh.add_router([path], router_port)
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
        router = Child("router", _spawn(argv, self.env), argv=argv)
        self.children.append(router)
        router.address = _wait_ready(router)
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
                _release_stdout(child)

    def _kill(self) -> None:
        for child in self.children:
            if child.process.poll() is None:
                child.process.kill()
            child.process.wait()
            _release_stdout(child)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=None, text=True, env=env)


def restart(child: Child, env: dict[str, str]) -> queue.Queue[str | None]:
    """Start an exited child again on the port it bound; its ready line comes on the queue."""
    _release_stdout(child)
    port = child.address.rsplit(":", 1)[1]
    child.process = _spawn([*child.argv, "--port", port], env)
    return watch_output(child)


def watch_output(child: Child) -> queue.Queue[str | None]:
    """Copy the child's stdout to ours from now on; its ready line (or None at exit) is queued.

    A thread reads the child's stdout from the start and copies everything
    but the ready line to ours, so that a child that prints never blocks on
    a full pipe, and no line waits in a buffer that a select() cannot see.
    """
    assert child.process.stdout is not None
    ready: queue.Queue[str | None] = queue.Queue(maxsize=1)
    child.forwarder = threading.Thread(
        target=_forward_output,
        args=(child.process.stdout, ready),
        name=f"tutti-mesh-{child.name}-stdout",
        daemon=True,
    )
    child.forwarder.start()
    return ready


def ready_address(line: str) -> str:
    """The address in a service's ready line."""
    return line.rstrip().rsplit(" on ", 1)[1]


def _wait_ready(child: Child, timeout_s: float = START_TIMEOUT_S) -> str:
    """Wait for the child's ready line; return the address it bound."""
    ready = watch_output(child)
    try:
        line = ready.get(timeout=timeout_s)
    except queue.Empty:
        raise MeshError(f"'{child.name}' did not become ready within {timeout_s:g}s") from None
    if line is None:
        code = child.process.wait()
        raise MeshError(f"'{child.name}' exited with code {code} before serving; see its log above")
    return ready_address(line)


def _forward_output(stream: IO[str], ready: queue.Queue[str | None]) -> None:
    """Hand the ready line to `ready` and copy the rest to our stdout until the child exits.

    Once our stdout is closed the child's output is discarded. At end of file
    `ready` gets None if it got nothing else.
    """
    announced = False
    with stream:
        forwarding = True
        for line in stream:
            if not announced and line.startswith(READY_PREFIX):
                announced = True
                ready.put(line)
                continue
            if not forwarding:
                continue
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except (OSError, ValueError):  # our stdout is a closed pipe or file
                forwarding = False
    if not announced:
        ready.put(None)


def _release_stdout(child: Child) -> None:
    """Close the stdout pipe of an exited child, or let its forwarder finish copying it."""
    if child.forwarder is not None:
        # The child has exited, so the forwarder meets end of file and closes the pipe.
        child.forwarder.join(timeout=OUTPUT_DRAIN_S)
    elif child.process.stdout is not None:
        child.process.stdout.close()


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
