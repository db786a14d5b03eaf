"""A real redis-server on 127.0.0.1 for tests, and the `redis_server` / `redis_url` fixtures.

A test module registers the fixtures with the plugin line, and imports `RedisServer` for
annotations under TYPE_CHECKING only (a plain import first would keep pytest from
rewriting this module's asserts, a warning that the suite turns into an error):

    pytest_plugins = ["tests.redis_server"]
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["RedisServer", "redis_server", "redis_url"]

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class RedisServer:
    """One redis-server process: no persistence, loopback only, restartable on its port."""

    def __init__(self, directory: Path, executable: str = "redis-server") -> None:
        self.directory = directory
        self.executable = executable
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start on a free port, or on the port it had before (a restart)."""
        if self.running:
            raise RuntimeError(f"redis-server is already running on port {self.port}")
        # A free port can be taken between choosing and binding it: choose again then.
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            port = self.port or _free_port()
            if self._launch(port):
                self.port = port
                return
            if attempt == attempts - 1:
                raise RuntimeError(f"redis-server did not start on port {port}:\n{self._log()}")

    def stop(self) -> None:
        """Stop the process and wait for it; the port stays this server's for a restart."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)

    def _launch(self, port: int) -> bool:
        argv = [
            self.executable,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip
        with (self.directory / "redis.log").open("ab") as log_file:
            process = subprocess.Popen(
                argv, cwd=self.directory, stdout=log_file, stderr=subprocess.STDOUT
            )
        self._process = process
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                return False
            if _answers_ping(port):
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def _log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A running redis-server of this test's own; stopped afterwards."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed; `make test` installs it (apt-get)")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, executable)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of a running redis-server of this test's own."""
    return redis_server.url
