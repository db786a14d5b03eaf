"""Phoenix for the whole folder: started once, on free loopback ports, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.telemetry.phoenix import phoenix_executable
from workbench.traces import RunningPhoenix, start_phoenix


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPhoenix]:
    """A Phoenix started as `tutti traces` starts it, with a working dir of its own."""
    running = start_phoenix(phoenix_executable(), tmp_path_factory.mktemp("phoenix"))
    try:
        yield running
    finally:
        running.stop()
