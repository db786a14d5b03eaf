"""The `tutti` command where no service runs: check, help, and serve refusing bad flags."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workbench.cli.running import QUICKSTART, ROOT, tutti

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


def test_check_reports_a_file_that_is_not_utf8_with_its_offset_not_a_traceback(
    tmp_path: Path,
) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"composition: caf\xe9\n")

    result = tutti("check", str(latin1))

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{latin1}:1: is not UTF-8 text: byte 0xe9 at offset 16" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_loads_serve_blocks_as_the_specialists_do(tmp_path: Path) -> None:
    """What `tutti up` would refuse, `check` refuses first: unknown keys and bad values in a
    stage's `serve:` block, each at its line, with the flow's own errors."""
    composition = tmp_path / "served.yaml"
    composition.write_text(
        "composition: served\n"
        "input: tutti.v1.Text\n"
        "output: tutti.v1.Text\n"
        "stages:\n"
        "  echo:\n"
        '    endpoint: "127.0.0.1:1"\n'
        "    input: tutti.v1.Text\n"
        "    output: tutti.v1.Text\n"
        "    serve:\n"
        "      backend: python\n"
        '      factory: "tests.stages:echo"\n'
        "      gpu: 8\n"
        "      expected_latency_ms: -1\n"
        "flow: nothing\n"
    )

    result = tutti("check", str(composition))

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{composition}:12: stage 'echo': gpu: unknown key" in result.stdout
    assert f"{composition}:13: stage 'echo': " in result.stdout
    assert "'nothing'" in result.stdout  # the flow's error is listed too
    assert result.stdout.splitlines()[0] == f"{composition}: 3 errors"


def test_check_fails_when_any_of_several_files_is_broken(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)

    result = tutti("check", QUICKSTART, str(broken))

    assert result.returncode == 1
    assert f"{QUICKSTART}: ok:" in result.stdout
    assert f"{broken}: 2 errors" in result.stdout


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
    result = tutti("serve", "router", "--config", "examples/quickstart/composition.yaml", *flags)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr


def test_serve_help_teaches_limits_and_security() -> None:
    result = tutti("serve", "--help")
    for flag in (
        "--max-in-flight",
        "--max-message-mb",
        "--reload-every",
        "--tls-client-ca",
        "--token-file",
    ):
        assert flag in result.stdout


def test_a_token_file_given_to_a_specialist_is_refused_not_ignored(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    token.chmod(0o600)
    for kind in ("specialist", "merger"):
        result = tutti("serve", kind, "--token-file", str(token))
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"--token-file protects the router; a {kind} does not check tokens" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_token_file_others_can_read_is_warned_of_at_start(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    token.chmod(0o644)
    argv = [sys.executable, "-m", "workbench", "serve", "router", "--config", QUICKSTART]
    with subprocess.Popen(
        [*argv, "--token-file", str(token)],
        cwd=ROOT,
        env={**os.environ, "OTEL_SDK_DISABLED": "true", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            assert process.stdout.readline().startswith("tutti: serving router on 127.0.0.1:")
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert f"{token} can be read by other users (mode 644): chmod 600 it" in stderr
    assert "s3cret" not in stderr
