"""`tutti traces`' launcher without Phoenix: what it prints, what it pins, how it fails."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest

from tutti.errors import ConfigError
from workbench.cli._traces_flags import add_traces
from workbench.traces import (
    PHOENIX_REQUIREMENT,
    PhoenixError,
    TraceViewer,
    banner,
    find_phoenix,
    start_phoenix,
)

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "tools" / "phoenix-requirements.txt"


def test_the_lock_holds_the_phoenix_the_launcher_tells_users_to_install() -> None:
    pins = [line for line in LOCK.read_text().splitlines() if not line.startswith("#")]
    assert PHOENIX_REQUIREMENT in pins
    assert all("==" in pin for pin in pins), "every package of the lock is pinned"


def test_the_banner_names_the_ui_and_the_variables_a_service_needs(tmp_path: Path) -> None:
    viewer = TraceViewer(port=6006, grpc_port=4317, working_dir=tmp_path)

    text = banner(viewer, tmp_path / "phoenix.log")

    assert "open http://127.0.0.1:6006" in text
    assert "  export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:4317\n" in text
    assert "  export OTEL_EXPORTER_OTLP_TRACES_INSECURE=true\n" in text
    # Phoenix takes no metrics: the general endpoint would point the metrics exporter at it.
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in text


def test_phoenix_is_told_to_stay_on_loopback_and_phone_nothing_home(tmp_path: Path) -> None:
    environment = TraceViewer(6006, 4317, tmp_path).phoenix_environment()

    assert environment["PHOENIX_HOST"] == "127.0.0.1"
    assert environment["PHOENIX_WORKING_DIR"] == str(tmp_path)
    assert environment["PHOENIX_TELEMETRY_ENABLED"] == "false"
    assert environment["PHOENIX_ALLOW_EXTERNAL_RESOURCES"] == "false"


def test_a_missing_phoenix_is_a_configuration_error_that_says_how_to_install_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as raised:
        find_phoenix(str(tmp_path / "phoenix"))

    assert "make traces" in str(raised.value)
    assert PHOENIX_REQUIREMENT in str(raised.value)


def test_a_phoenix_that_exits_at_start_is_reported_with_its_last_words(tmp_path: Path) -> None:
    broken = tmp_path / "phoenix"
    broken.write_text("#!/bin/sh\necho 'cannot open the database' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)

    with pytest.raises(PhoenixError) as raised:
        start_phoenix(broken, tmp_path / "work", timeout_s=60)

    assert "phoenix exited with 3" in str(raised.value)
    assert "cannot open the database" in str(raised.value)


def test_the_flags_default_to_phoenixs_own_ports() -> None:
    parser = argparse.ArgumentParser()
    add_traces(parser.add_subparsers(dest="command"))

    args = parser.parse_args(["traces"])

    assert (args.phoenix, args.port, args.grpc_port, args.working_dir) == (None, 6006, 4317, None)
