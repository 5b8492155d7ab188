"""The event loop's longest stall while something runs: a ticker coroutine sleeps 1 ms at a
time and records the gaps between its wake-ups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Gaps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    @property
    def longest_ms(self) -> float:
        return max(self.seconds, default=0.0) * 1000


@asynccontextmanager
async def loop_gaps() -> AsyncIterator[Gaps]:
    """Ticks from 50 ms before the block to 50 ms after it."""
    gaps = Gaps()
    ticking = True

    async def ticker() -> None:
        last = time.perf_counter()
        while ticking:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.seconds.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    try:
        yield gaps
    finally:
        await asyncio.sleep(0.05)
        ticking = False
        await task
