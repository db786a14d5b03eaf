"""A real Arize Phoenix on loopback, started as `tutti traces` starts it, and its spans read back.

Phoenix lives in a virtualenv of its own, `.venv-phoenix` (`make traces` creates it);
without it the tests that need it are skipped, saying so.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from workbench.traces import RunningPhoenix, TraceViewer

ROOT = Path(__file__).resolve().parents[2]
PHOENIX = ROOT / ".venv-phoenix" / "bin" / "phoenix"
# Upper bound for spans to be stored once every service has flushed; only reached on failure.
STORED_WITHIN_S = 30.0
PROJECT = "default"


def phoenix_executable() -> Path:
    """The Phoenix of `make traces`; the test is skipped, saying so, when it is not there."""
    if not PHOENIX.is_file():
        pytest.skip(f"Phoenix is not installed at {PHOENIX}; run `make phoenix`")
    return PHOENIX


@dataclass(frozen=True)
class StoredSpan:
    """One span as Phoenix's REST API gives it back (Phoenix keeps no resource attributes)."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StoredSpan:
        return cls(
            name=raw["name"],
            trace_id=raw["context"]["trace_id"],
            span_id=raw["context"]["span_id"],
            parent_id=raw.get("parent_id") or "",
            attributes=raw.get("attributes") or {},
        )


def trace_spans(viewer: TraceViewer, trace_id: str) -> list[StoredSpan]:
    """Every span Phoenix holds for one trace, through `GET /v1/projects/{project}/spans`."""
    spans: list[StoredSpan] = []
    cursor = ""
    while True:
        query = {"trace_id": trace_id, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        url = f"{viewer.ui_url}/v1/projects/{PROJECT}/spans?{urllib.parse.urlencode(query)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:  # no span stored yet: the default project does not exist yet
                return []
            raise
        spans += [StoredSpan.from_json(raw) for raw in body["data"]]
        cursor = body.get("next_cursor") or ""
        if not cursor:
            return spans


def wait_for_trace(phoenix: RunningPhoenix, trace_id: str, count: int) -> list[StoredSpan]:
    """The trace's spans once Phoenix has stored `count` of them; fails with what it has by then.

    Phoenix takes spans over gRPC and writes them to its database in batches, so a
    flushed span is readable a little later.
    """
    deadline = time.monotonic() + STORED_WITHIN_S
    spans = trace_spans(phoenix.viewer, trace_id)
    while len(spans) < count and time.monotonic() < deadline:
        if phoenix.process.poll() is not None:
            pytest.fail(f"Phoenix exited with {phoenix.process.returncode}:\n{phoenix.log_tail()}")
        time.sleep(0.2)
        spans = trace_spans(phoenix.viewer, trace_id)
    if len(spans) < count:
        names = sorted(s.name for s in spans)
        pytest.fail(f"Phoenix stored {len(spans)} of {count} spans of trace {trace_id}: {names}")
    return spans
