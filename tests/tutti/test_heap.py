"""A server gives the heap a burst of traffic left behind back to the system (tutti.heap)."""

from __future__ import annotations

from tutti.heap import trim_heap


def test_the_heap_can_be_trimmed_on_this_machine() -> None:
    """glibc is the C library here, so the trim is done, not skipped."""
    assert trim_heap()
