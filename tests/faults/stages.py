"""Stage models for the fault tests that tell the test, across the process boundary, what they do."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import message

from tests.stages import TEXT, Slow


class AnnouncingSlow(Slow):
    """Slow, and appends a line to `started` as each call begins, for a test in another process."""

    def __init__(self, delay_ms: float, started: str, input_type: str) -> None:
        super().__init__(delay_ms, input_type, input_type)
        self.started = Path(started)

    async def predict(self, msg: message.Message) -> message.Message:
        with self.started.open("a") as f:
            f.write("call\n")
        return await super().predict(msg)


def announcing_slow(delay_ms: float, started: str, input_type: str = TEXT) -> AnnouncingSlow:
    return AnnouncingSlow(delay_ms, started, input_type)


def calls_started(path: Path) -> int:
    """How many calls the stage has begun, from its announcements."""
    return len(path.read_text().splitlines()) if path.exists() else 0
