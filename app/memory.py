"""Hand freed heap memory back to the operating system.

glibc keeps the pages of freed allocations below its mmap threshold, which it raises as large
blocks are freed: after a cold start or a compaction, the build's temporaries (larger than the
index itself) would stay resident in every replica. ``malloc_trim`` releases them.

It also gives threads arenas of their own, up to eight per core. Worker threads take turns
(the GIL), but what each frees stays in its own arena, in pages only that thread's later
allocations reuse and that ``malloc_trim`` cannot give back while anything lives on them. Two
arenas (the loop's thread and one that the worker threads share) kept a replica after churn
closest to a fresh start (``docs/performance.md``).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Final, cast

log = logging.getLogger("withheld.memory")


def _glibc_function(name: str, *argtypes: type[Any]) -> Callable[..., int] | None:
    """glibc's ``name`` (returning an int), or None without glibc (musl, macOS)."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        function = getattr(ctypes.CDLL(library), name)  # ctypes releases the GIL for the call
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return cast(Callable[..., int], function)


# Objects freed in one go: a request's 100,000 parsed or validated items freed at once are one
# C call that holds the GIL for about 10 ms.
RELEASE_SLICE: Final = 2_000


def release_in_slices(items: list[Any]) -> None:
    """Empty ``items`` a slice at a time (in a worker thread: the GIL can change hands
    between slices)."""
    while items:
        del items[-RELEASE_SLICE:]


async def release_on_loop(items: list[Any]) -> None:
    """``release_in_slices`` on the event loop, which serves between slices."""
    while items:
        del items[-RELEASE_SLICE:]
        await asyncio.sleep(0)


_TRIM = _glibc_function("malloc_trim", ctypes.c_size_t)
_M_ARENA_MAX: Final = -8  # glibc's malloc.h
MALLOC_ARENAS: Final = 2


def limit_malloc_arenas() -> None:
    """At most ``MALLOC_ARENAS`` glibc arenas, unless the operator chose (``MALLOC_ARENA_MAX``
    or ``GLIBC_TUNABLES``). Call before threads start: arenas already made are kept."""
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return
    mallopt = _glibc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return
    if not mallopt(_M_ARENA_MAX, MALLOC_ARENAS):
        log.warning("could not limit malloc arenas to %d", MALLOC_ARENAS)


def release_free_memory() -> None:
    """Return the heap's free pages to the OS, where the C library can (glibc)."""
    if _TRIM is None:
        return
    started = time.perf_counter()
    _TRIM(0)
    log.debug("malloc_trim took %.1f ms", (time.perf_counter() - started) * 1000)
