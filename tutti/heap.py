"""Give the heap memory a burst of traffic left behind back to the system (glibc's malloc_trim)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

__all__ = ["TRIM_EVERY_S", "heap_trimmer", "trim_heap"]

log = logging.getLogger("tutti.server")

# Often enough that memory returns soon after clients leave; a trim of a few hundred MB of
# heap takes milliseconds, in a thread of its own.
TRIM_EVERY_S = 10.0


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Return freed heap pages to the system now; False where that cannot be done.

    glibc keeps what a process freed for reuse: after many large messages
    (a burst of 100 KB requests, clients that stopped reading) the process
    stays at its peak although the memory is free. Trimming brings it back.
    """
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


async def heap_trimmer(every_s: float = TRIM_EVERY_S) -> None:
    """Trim the heap every `every_s` seconds until cancelled."""
    if _TRIM is None:
        log.debug("no malloc_trim in this C library; freed heap stays with the process")
        return
    while True:
        await asyncio.sleep(every_s)
        await asyncio.to_thread(trim_heap)
