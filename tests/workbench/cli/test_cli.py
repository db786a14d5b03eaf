"""The `tutti` command end to end: each sub-command run as a real process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = "examples/quickstart/composition.yaml"
SIGN_OFF = "-- The Tutti support team"
RUN_TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
ENDPOINT_LINE = re.compile(r"^  (\S+)\s+(127\.0\.0\.1:\d+)$")

# The escalation stage's price in the quickstart, plus triage's.
ESCALATED_COST_USD = 0.06 + 0.0001

BROKEN = """\
composition: broken
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  triage: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Classification}
  reply: {endpoint: "127.0.0.1:2", input: tutti.v1.Text, output: tutti.v1.Text}
flow:
  sequence:
    - triage
    - reply
    - missing
"""


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
    def start(cls, composition: str, port: int, log: Path) -> Up:
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "workbench", "up", composition, "--port", str(port)],
                cwd=ROOT,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                # Its own process group, which its children join: a hard kill reaches them all.
                start_new_session=True,
                # As from a terminal: a test run started in the background (`cmd &`) would
                # otherwise hand `up` an ignored SIGINT, and Ctrl-C could not be tested.
                preexec_fn=_default_sigint,
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


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """The quickstart brought up once by `tutti up` for the routing tests; Ctrl-C'd after."""
    up = Up.start(QUICKSTART, free_port(), tmp_path_factory.mktemp("up") / "stderr.log")
    try:
        yield up
    finally:
        up.stop(signal.SIGINT)


def route(up: Up, composition: str, input_json: str) -> subprocess.CompletedProcess[str]:
    return tutti("route", composition, "--router", up.endpoints["router"], "--json", input_json)


def routed(up: Up, composition: str, input_json: str) -> dict[str, Any]:
    result = route(up, composition, input_json)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def stage_names(execution: dict[str, Any]) -> list[str]:
    return [stage["stage"] for stage in execution["stages"]]


# -- check ---------------------------------------------------------------------


def test_check_accepts_the_quickstart() -> None:
    result = tutti("check", QUICKSTART)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{QUICKSTART}: ok: composition 'quickstart'")
    assert "tutti.v1.Text -> tutti.v1.Text, 6 stages" in result.stdout


def test_check_lists_every_error_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)

    result = tutti("check", str(broken))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{broken}: 2 errors"
    assert lines[1].startswith(f"  {broken}:10: stage 'reply': type mismatch:"), lines
    assert "'triage' outputs tutti.v1.Classification but 'reply' takes tutti.v1.Text" in lines[1]
    assert lines[2] == f"  {broken}:11: stage 'missing': unknown stage 'missing'"
    assert "Traceback" not in result.stderr


def test_check_reports_unparseable_yaml_like_any_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("composition: bad\n  flow: [\n")

    result = tutti("check", str(bad))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{bad}: 1 error"
    assert lines[1].startswith(f"  {bad}:2: invalid YAML"), lines
    assert "Traceback" not in result.stderr


def test_check_fails_when_any_of_several_files_is_broken(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)

    result = tutti("check", QUICKSTART, str(broken))

    assert result.returncode == 1
    assert f"{QUICKSTART}: ok:" in result.stdout
    assert f"{broken}: 2 errors" in result.stdout


# -- up and route --------------------------------------------------------------


def test_up_prints_every_endpoint(quickstart: Up) -> None:
    assert set(quickstart.endpoints) == {
        "triage",
        "account",
        "billing",
        "shipping",
        "general",
        "sign_off",
        "router",
    }
    assert quickstart.stdout[-1] == "Ctrl-C stops every service."


def test_route_by_name_takes_the_account_path(quickstart: Up) -> None:
    data = routed(quickstart, "quickstart", '{"text": "I forgot my password"}')

    text = data["output"]["text"]
    assert "To reset your password" in text
    assert text.endswith(SIGN_OFF)
    assert stage_names(data["execution"]) == ["triage", "account", "sign_off"]
    assert data["execution"]["composition"] == "quickstart"


def test_route_accepts_the_composition_file_instead_of_its_name(quickstart: Up) -> None:
    data = routed(quickstart, QUICKSTART, '{"text": "I forgot my password"}')

    assert stage_names(data["execution"]) == ["triage", "account", "sign_off"]
    assert data["output"]["text"].endswith(SIGN_OFF)


def test_route_escalates_an_unclear_message_to_general(quickstart: Up) -> None:
    data = routed(quickstart, "quickstart", '{"text": "hello"}')

    execution = data["execution"]
    assert stage_names(execution) == ["triage", "general", "sign_off"]
    assert any("escalate:general" in step for step in execution["path"]), execution["path"]
    assert execution["totalCostUsd"] == pytest.approx(ESCALATED_COST_USD)
    assert data["output"]["text"].endswith(SIGN_OFF)


def test_route_names_an_unknown_json_field_without_a_traceback(quickstart: Up) -> None:
    result = route(quickstart, "quickstart", '{"txt": "hello"}')

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("tutti: --json is not a valid tutti.v1.Text")
    assert '"txt"' in result.stderr
    assert "Traceback" not in result.stderr


def test_route_to_an_unknown_composition_lists_what_the_router_serves(quickstart: Up) -> None:
    result = route(quickstart, "nope", '{"text": "hello"}')

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"tutti: router {quickstart.endpoints['router']} does not serve 'nope' (it serves: quickstart)"
    )


def test_up_stops_every_service_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    up = Up.start(QUICKSTART, port, tmp_path / "stderr.log")
    try:
        assert up.endpoints["router"] == f"127.0.0.1:{port}"
        children = child_pids(up.process.pid)
        if Path("/proc").is_dir():
            assert len(children) == len(up.endpoints), children  # one process per service
        code = up.stop(signal.SIGTERM)
    finally:
        if up.process.poll() is None:  # an assertion failed before the stop
            up.stop(signal.SIGTERM)

    assert code == 0, up.output()
    assert "stopping ..." in up.stdout
    still_listening = [
        name for name, address in up.endpoints.items() if not refuses_connections(address)
    ]
    assert still_listening == [], up.output()
    # `up` waits for its children, so none is left behind, not even as a zombie.
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []
    assert "Traceback" not in up.log.read_text()


def test_killing_up_hard_takes_every_service_with_it(tmp_path: Path) -> None:
    """The tests' last resort against a hung `up` must not leave its services serving."""
    up = Up.start(QUICKSTART, free_port(), tmp_path / "stderr.log")
    try:
        assert len(up.endpoints) == 7
    finally:
        up.kill()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while still_listening := [a for a in up.endpoints.values() if not refuses_connections(a)]:
        assert time.monotonic() < deadline, f"still serving after SIGKILL: {still_listening}"
        time.sleep(0.1)


# -- demo ----------------------------------------------------------------------


# -- help and start-up errors --------------------------------------------------


def test_help_lists_the_sub_commands() -> None:
    result = tutti("--help")

    assert result.returncode == 0
    for command in ("check", "up", "route", "serve"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command


def test_route_help_shows_an_example() -> None:
    result = tutti("route", "--help")

    assert result.returncode == 0
    assert "example: tutti route quickstart --json" in result.stdout


def test_serve_with_a_missing_config_names_the_file_without_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"

    result = tutti("serve", "router", "--config", str(missing))

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"tutti: configuration error: {missing}: cannot read"), lines


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tls-cert", "a.crt"], "--tls-cert and --tls-key go together"),
        (["--tls-client-ca", "ca.crt"], "--tls-client-ca needs --tls-cert and --tls-key"),
        (["--tls-client-cert", "c.crt"], "--tls-client-cert and --tls-client-key need --tls-ca"),
        (["--token-file", "no-such-token"], "no-such-token: cannot read the token file"),
    ],
)
def test_serve_router_refuses_incomplete_security_flags_before_starting(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    result = tutti(
        "serve", "router", "--config", "examples/quickstart/composition.yaml", *flags
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr


def test_serve_help_teaches_limits_and_security() -> None:
    result = tutti("serve", "--help")
    for flag in ("--max-in-flight", "--max-message-mb", "--reload-every", "--tls-client-ca", "--token-file"):
        assert flag in result.stdout
