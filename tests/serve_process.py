"""One real `tutti serve` process for tests: started, read until its ready line, measured, stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from workbench.mesh import READY_PREFIX

__all__ = ["START_S", "ServeProcess"]

ROOT = Path(__file__).resolve().parents[1]
# A model that loads slowly on a busy machine still starts within this; only reached on failure.
START_S = 60.0


class ServeProcess:
    """`tutti serve ARGV...`; stdout is read for the ready line, stderr goes to `stderr` if given."""

    def __init__(self, *argv: str, stderr: Path | None = None) -> None:
        self.argv, self.stderr, self.address = argv, stderr, ""
        self._read = 0
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OTEL_SDK_DISABLED": "true"}
        command = [sys.executable, "-m", "workbench", "--log-level", "WARNING", "serve", *argv]
        if stderr is None:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
            )
        else:
            with stderr.open("w") as sink:  # the child has its own copy of the descriptor
                self.process = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=sink, text=True, env=env, cwd=ROOT
                )

    def ready(self) -> str:
        """The address, once the process said it serves."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_S
        while not self.address and time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.argv} exited with {self.process.wait()}: {self.log()}")
            if line.startswith(READY_PREFIX):
                self.address = line.rsplit(" on ", 1)[1].strip()
        if not self.address:
            raise RuntimeError(f"{self.argv} did not start within {START_S:.0f} s")
        return self.address

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as f:
            rss = next(line for line in f if line.startswith("VmRSS:"))
        return int(rss.split()[1]) / 1024.0

    def log(self) -> str:
        return self.stderr.read_text(errors="replace") if self.stderr is not None else ""

    def new_log(self) -> str:
        """What the process wrote to stderr since the last call."""
        text = self.log()
        fresh, self._read = text[self._read :], len(text)
        return fresh

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
