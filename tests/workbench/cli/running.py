"""The `tutti` command as a child process: one-shot runs and a long-running `tutti up`."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = "examples/quickstart/composition.yaml"
RUN_TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
ENDPOINT_LINE = re.compile(r"^  (\S+)\s+(127\.0\.0\.1:\d+)$")


def _env() -> dict[str, str]:
    # No exporter from the developer's shell: these runs must not depend on a collector.
    return {**os.environ, "OTEL_SDK_DISABLED": "true", "PYTHONUNBUFFERED": "1"}


def tutti(*args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run `python -m workbench ARGS` from the repository root and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refuses_connections(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2.0):
            return False
    except ConnectionRefusedError:
        return True


def child_pids(pid: int) -> set[int]:
    """The processes whose parent is `pid`, read from /proc (empty where there is none)."""
    children: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces and parentheses; the fields after it do not.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Up:
    """A running `tutti up`, with the endpoints it printed."""

    process: subprocess.Popen[str]
    log: Path
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    stdout: list[str] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, composition: str | Sequence[str | Path], port: int, log: Path) -> Up:
        files = [composition] if isinstance(composition, str) else [str(c) for c in composition]
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "workbench", "up", *files, "--port", str(port)],
                cwd=ROOT,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                # Its own process group, which its children join: a hard kill reaches them all.
                start_new_session=True,
                # As from a terminal: a test run started in the background (`cmd &`) would
                # otherwise hand `up` an ignored SIGINT, and Ctrl-C could not be tested.
                preexec_fn=_default_sigint,  # noqa: PLW1509  (only resets a signal)
            )
        up = cls(process, log)
        # A thread drains stdout for the whole run, so `up` never blocks on a full pipe.
        up.reader = threading.Thread(target=up._read, daemon=True)
        up.reader.start()
        try:
            up._wait_ready()
        except BaseException:
            up.stop(signal.SIGTERM)
            raise
        return up

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(
                    f"`tutti up` printed no endpoints within {START_TIMEOUT_S:g}s\n{self.output()}"
                )
            if line is None:
                pytest.fail(f"`tutti up` exited before it was up\n{self.output()}")
            self.stdout.append(line)
            if match := ENDPOINT_LINE.match(line):
                self.endpoints[match[1]] = match[2]
            if line == "Ctrl-C stops every service.":
                return

    def output(self) -> str:
        return "\n".join(self.stdout) + "\n--- stderr ---\n" + self.log.read_text()

    def stop(self, sig: signal.Signals) -> int:
        """Send `sig`, wait for `up` to exit, and return its exit code; kill it if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        finally:
            self._close()
        while (line := self._next_line()) is not None:
            self.stdout.append(line)
        return code

    def kill(self) -> None:
        """SIGKILL `up` and every service it started, which share its process group."""
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._close()

    def _close(self) -> None:
        if self.reader is not None:
            self.reader.join(timeout=5.0)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def _next_line(self) -> str | None:
        try:
            return self.lines.get_nowait()
        except queue.Empty:
            return None
