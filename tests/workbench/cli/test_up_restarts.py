"""`tutti up` keeps the mesh up: a service that dies comes back on its port; one that keeps
dying makes `up` give up, after a bounded number of restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.workbench.cli.running import QUICKSTART, Up, child_pids, free_port, tutti
from workbench.mesh import Child
from workbench.supervisor import RestartPolicy, Supervisor

BACK_WITHIN_S = 60.0


def _service_pid(up: Up, name: str) -> int:
    """The pid of the child of `up` serving stage `name` (or the router)."""
    for pid in child_pids(up.process.pid):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if name == "router" and b"router" in argv or b"--stage" in argv and name.encode() in argv:
            return pid
    raise AssertionError(f"no process serves {name!r}: {child_pids(up.process.pid)}")


def _back(up: Up, name: str) -> tuple[str, float]:
    """Wait for `up` to say `name` serves again; return its address and the seconds it took."""
    started = time.monotonic()
    deadline = started + BACK_WITHIN_S
    while time.monotonic() < deadline:
        for line in up.log.read_text().splitlines():
            if line.startswith(f"tutti up: {name} is serving again on "):
                address = line.split(" on ", 1)[1].split(" ", 1)[0]
                return address, time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{name} did not come back\n{up.output()}")


def _route_password(up: Up, within_s: float = 0.0) -> list[str]:
    """Route one request through triage, account and sign_off; retry for `within_s` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        result = tutti(
            "route",
            "quickstart",
            "--router",
            up.endpoints["router"],
            "--json",
            '{"text": "I forgot my password"}',
        )
        if result.returncode == 0 or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    assert result.returncode == 0, result.stderr
    return [stage["stage"] for stage in json.loads(result.stdout)["execution"]["stages"]]


def test_a_killed_stage_and_a_killed_router_come_back_on_their_ports(tmp_path: Path) -> None:
    up = Up.start(QUICKSTART, free_port(), tmp_path / "stderr.log")
    try:
        assert _route_password(up) == ["triage", "account", "sign_off"]
        for name in ("account", "router"):
            (tmp_path / "stderr.log").write_text("")  # only this round's lines
            signal_sent = time.monotonic()
            os.kill(_service_pid(up, name), signal.SIGKILL)
            address, _ = _back(up, name)
            serving = time.monotonic() - signal_sent
            assert address == up.endpoints[name]
            assert "restarting it on " + up.endpoints[name] in up.log.read_text()
            assert up.process.poll() is None, "up gave up on one death"
            # The router finds the stage again (its channel retries the address).
            assert _route_password(up, within_s=10) == ["triage", "account", "sign_off"]
            routed = time.monotonic() - signal_sent
            print(f"\n{name} killed: serving again in {serving:.2f} s, routed in {routed:.2f} s")
        code = up.stop(signal.SIGTERM)
    finally:
        if up.process.poll() is None:
            up.kill()
    assert code == 0, up.output()


def test_a_service_that_keeps_dying_is_restarted_with_backoff_then_given_up(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-c", "import sys; sys.exit(3)"]

    def spawn() -> subprocess.Popen[str]:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)

    child = Child("flaky", spawn(), address="127.0.0.1:9", argv=argv)
    said: list[str] = []
    policy = RestartPolicy(first_delay_s=0.05, max_delay_s=0.1, max_failures=3)
    supervisor = Supervisor([child], env={}, policy=policy, say=said.append)
    deadline = time.monotonic() + 30
    while supervisor.tick():
        assert time.monotonic() < deadline, said
        time.sleep(0.01)
    assert said == [
        "flaky exited with code 3; restarting it on 127.0.0.1:9 in 0.1 s (attempt 1 of 3)",
        "flaky exited with code 3; restarting it on 127.0.0.1:9 in 0.1 s (attempt 2 of 3)",
        "flaky exited with code 3; restarting it on 127.0.0.1:9 in 0.1 s (attempt 3 of 3)",
        "flaky exited with code 3; it failed 3 times in a row: giving up",
    ]
    # Each restart asked for the port the child had.
    assert child.process.args == [*argv, "--port", "9"]
    assert child.process.poll() == 3


def test_backoff_doubles_up_to_its_ceiling() -> None:
    policy = RestartPolicy(first_delay_s=0.5, max_delay_s=10.0)
    assert [policy.delay_s(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
