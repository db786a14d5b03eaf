"""The services of a mesh as child processes: started, watched for their ready line, restarted."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from tutti.errors import TuttiError

__all__ = [
    "OUTPUT_DRAIN_S",
    "READY_PREFIX",
    "START_TIMEOUT_S",
    "Child",
    "MeshError",
    "ready_address",
    "ready_line",
    "release_stdout",
    "restart",
    "spawn",
    "wait_ready",
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
    """One service of the mesh, running as a `tutti serve` child process."""

    name: str
    process: subprocess.Popen[str]
    address: str = ""
    # How it was started; a restart adds `--port` with the port it bound the first time.
    argv: list[str] = field(default_factory=list)
    # Copies the child's stdout once it is ready; it owns (and closes) the pipe from then on.
    forwarder: threading.Thread | None = None


def spawn(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `argv` with its stdout on a pipe (for its ready line) and its stderr on ours."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=None, text=True, env=env)


def restart(child: Child, env: dict[str, str]) -> queue.Queue[str | None]:
    """Start an exited child again on the port it bound; its ready line comes on the queue."""
    release_stdout(child)
    port = child.address.rsplit(":", 1)[1]
    child.process = spawn([*child.argv, "--port", port], env)
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


def wait_ready(child: Child, timeout_s: float = START_TIMEOUT_S) -> str:
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


def release_stdout(child: Child) -> None:
    """Close the stdout pipe of an exited child, or let its forwarder finish copying it."""
    if child.forwarder is not None:
        # The child has exited, so the forwarder meets end of file and closes the pipe.
        child.forwarder.join(timeout=OUTPUT_DRAIN_S)
    elif child.process.stdout is not None:
        child.process.stdout.close()
