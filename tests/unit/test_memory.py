"""The heap's arenas: at most ``MALLOC_ARENAS`` in a serving process (glibc), so that what
worker threads free is not stranded in arenas of their own. Large lists freed a slice at a
time."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest

from app import memory

# Six threads alive at once that each allocate past pymalloc (over 512 bytes: glibc's malloc),
# then every arena's figures on stderr.
THREADS_THEN_STATS = """
import ctypes, sys, threading
import app.memory as memory
if sys.argv[1] == "limit":
    memory.limit_malloc_arenas()
kept = []
together = threading.Barrier(6)
def allocate():
    kept.append([bytearray(4096) for _ in range(100)])
    together.wait()  # all six alive at once, each with its arena
threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL("libc.so.6").malloc_stats()
"""


def _arenas(mode: str, **env: str) -> int:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")
    }
    done = subprocess.run(
        [sys.executable, "-c", THREADS_THEN_STATS, mode],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return len(re.findall(r"^Arena \d+:", done.stderr, re.MULTILINE))


pytestmark = pytest.mark.skipif(
    memory._TRIM is None or not sys.platform.startswith("linux"), reason="glibc only"
)


def test_threads_share_at_most_two_arenas_once_limited() -> None:
    assert _arenas("limit") == memory.MALLOC_ARENAS
    assert _arenas("default") > memory.MALLOC_ARENAS  # the limit is what made the difference


def test_an_operators_own_choice_is_kept() -> None:
    assert _arenas("limit", MALLOC_ARENA_MAX="4") == 4


@pytest.mark.parametrize("count", [0, 1, memory.RELEASE_SLICE, 5 * memory.RELEASE_SLICE + 7])
def test_a_list_released_in_slices_ends_empty(count: int) -> None:
    items = [object() for _ in range(count)]
    memory.release_in_slices(items)
    assert items == []


def test_a_list_released_on_the_loop_lets_others_run_between_slices() -> None:
    slices = 5

    async def scenario() -> int:
        items = [object() for _ in range(slices * memory.RELEASE_SLICE)]
        turns = 0

        async def other() -> None:
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        running = asyncio.create_task(other())
        await asyncio.sleep(0)
        before = turns
        await memory.release_on_loop(items)
        running.cancel()
        assert items == []
        return turns - before

    assert asyncio.run(scenario()) >= slices - 1
