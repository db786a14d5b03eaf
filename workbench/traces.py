"""`tutti traces`: Arize Phoenix on loopback, a trace viewer that takes the services' OTLP spans."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tutti.errors import ConfigError, Problem

__all__ = [
    "PHOENIX_REQUIREMENT",
    "START_TIMEOUT_S",
    "PhoenixError",
    "RunningPhoenix",
    "TraceViewer",
    "banner",
    "find_phoenix",
    "start_phoenix",
    "traces",
]

# tools/phoenix-requirements.txt locks this and everything it pulls in; a test keeps them equal.
PHOENIX_REQUIREMENT = "arize-phoenix==20.26.1"
# Phoenix migrates its database before it listens: tens of seconds on a busy 2-core machine.
START_TIMEOUT_S = 180.0
STOP_GRACE_S = 10.0
LOG_NAME = "phoenix.log"


class PhoenixError(Exception):
    """Phoenix exited, or did not answer in time; the message ends with its log's last lines."""


@dataclass(frozen=True)
class TraceViewer:
    """Where one Phoenix listens: the web UI and its REST API, and the OTLP/gRPC collector."""

    port: int
    grpc_port: int
    working_dir: Path
    host: str = "127.0.0.1"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def otlp_endpoint(self) -> str:
        return f"http://{self.host}:{self.grpc_port}"

    def phoenix_environment(self) -> dict[str, str]:
        """Phoenix's own settings: loopback only, a working dir of its own, nothing phoned home."""
        return {
            "PHOENIX_HOST": self.host,
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(self.grpc_port),
            "PHOENIX_WORKING_DIR": str(self.working_dir),
            # The UI's analytics pixels, web fonts and a sandbox download: none offline, none wanted.
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
            # Phoenix's agents may run shell commands on the server; a trace viewer needs none.
            "PHOENIX_AGENTS_DISABLE_BASH": "true",
        }

    def otel_variables(self) -> dict[str, str]:
        """What a Tutti service (or a client) needs in its environment to send spans here.

        The traces endpoint alone, not OTEL_EXPORTER_OTLP_ENDPOINT: Phoenix takes no
        metrics, and a metrics exporter pointed at it would only log refusals.
        """
        return {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.otlp_endpoint,
            "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true",
        }


@dataclass
class RunningPhoenix:
    """A `phoenix serve` child process and where it listens."""

    viewer: TraceViewer
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])


def find_phoenix(explicit: str | None = None) -> Path:
    """The `phoenix` executable: the one named, else `make traces`' venv here, else on PATH."""
    if explicit:
        candidates = [Path(explicit)]
    else:
        on_path = shutil.which("phoenix")
        candidates = [Path(".venv-phoenix/bin/phoenix"), *([Path(on_path)] if on_path else [])]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    where = f"{explicit} is not an executable" if explicit else "no phoenix executable found"
    message = (
        f"{where}; `make traces` installs Arize Phoenix into .venv-phoenix, or: python -m venv"
        f" .venv-phoenix && .venv-phoenix/bin/pip install '{PHOENIX_REQUIREMENT}'"
    )
    raise ConfigError(Problem("<command line>", 0, message))


def start_phoenix(
    executable: Path,
    working_dir: Path,
    port: int = 0,
    grpc_port: int = 0,
    timeout_s: float = START_TIMEOUT_S,
) -> RunningPhoenix:
    """`phoenix serve` on loopback, its output in working_dir; returns once both ports answer.

    A port of 0 picks a free one.
    """
    working_dir.mkdir(parents=True, exist_ok=True)
    viewer = TraceViewer(port or _free_port(), grpc_port or _free_port(), working_dir)
    log = working_dir / LOG_NAME
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(executable), "serve"],
            cwd=working_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **viewer.phoenix_environment(), "PYTHONUNBUFFERED": "1"},
            # A Ctrl-C in the terminal reaches `tutti traces` alone, which then stops Phoenix.
            start_new_session=True,
        )
    running = RunningPhoenix(viewer, process, log)
    try:
        _wait_ready(running, time.monotonic() + timeout_s)
    except BaseException:
        running.stop()
        raise
    return running


def _wait_ready(running: RunningPhoenix, deadline: float) -> None:
    viewer = running.viewer
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise PhoenixError(
                f"phoenix exited with {running.process.returncode}:\n{running.log_tail()}"
            )
        if _answers(f"{viewer.ui_url}/healthz") and _listens(viewer.host, viewer.grpc_port):
            return
        time.sleep(0.5)
    raise PhoenixError(f"phoenix did not answer in time:\n{running.log_tail()}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _listens(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def banner(viewer: TraceViewer, log: Path) -> str:
    """What `tutti traces` prints once Phoenix is up: where to look, what to export."""
    exports = "\n".join(f"  export {k}={v}" for k, v in viewer.otel_variables().items())
    return (
        f"Phoenix is up: open {viewer.ui_url} (traces in the 'default' project)\n"
        f"Send a service's spans here: in the shell that runs `tutti up` or `tutti serve`,\n"
        f"{exports}\n"
        f"Phoenix's log: {log}; its data: {viewer.working_dir}\n"
        "Ctrl-C stops Phoenix."
    )


def traces(phoenix: str | None, port: int, grpc_port: int, working_dir: str | None) -> int:
    """Run Phoenix in the foreground until Ctrl-C or SIGTERM; 1 if it exits by itself.

    Without a working dir, Phoenix keeps its traces in a temporary folder that
    goes when it stops.
    """
    executable = find_phoenix(phoenix)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    scratch = None if working_dir else tempfile.mkdtemp(prefix="tutti-traces-")
    folder = Path(working_dir or scratch or "").resolve()
    try:
        print(f"starting Phoenix ({executable}) ...", flush=True)
        running = start_phoenix(executable, folder, port, grpc_port)
        try:
            print(banner(running.viewer, running.log), flush=True)
            code = running.process.wait()
            print(
                f"tutti traces: phoenix exited with {code}:\n{running.log_tail()}", file=sys.stderr
            )
            return 1
        except KeyboardInterrupt:
            print("stopping Phoenix ...", flush=True)
            return 0
        finally:
            running.stop()
    except PhoenixError as exc:
        print(f"tutti traces: {exc}", file=sys.stderr)
        return 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
