"""Hand freed heap memory back to the operating system.

glibc keeps the pages of freed allocations below its mmap threshold, which it raises as large
blocks are freed: after a cold start or a compaction, the build's temporaries (larger than the
index itself) would stay resident in every replica. ``malloc_trim`` releases them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

log = logging.getLogger("withheld.memory")


def _find_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim  # ctypes releases the GIL for the call
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _find_trim()


def release_free_memory() -> None:
    """Return the heap's free pages to the OS, where the C library can (glibc)."""
    if _TRIM is None:
        return
    started = time.perf_counter()
    _TRIM(0)
    log.debug("malloc_trim took %.1f ms", (time.perf_counter() - started) * 1000)
