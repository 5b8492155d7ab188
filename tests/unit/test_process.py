"""A serving process is tuned once (garbage-collector thresholds, frozen start-up objects), and
the GIL switches every 1 ms only while a worker thread is at work."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

import pytest

from app import process


def test_tuning_sets_the_thresholds_once() -> None:
    process.tune_for_serving()
    assert gc.get_threshold() == process.GC_THRESHOLDS
    frozen = gc.get_freeze_count()
    assert frozen > 0
    process.tune_for_serving()  # again: nothing more is frozen
    assert gc.get_freeze_count() == frozen


def test_the_interval_is_short_while_any_worker_thread_works() -> None:
    assert sys.getswitchinterval() == process.IDLE_SWITCH_INTERVAL_S
    release = threading.Event()
    seen: list[float] = []

    def work() -> float:
        release.wait(10)
        return sys.getswitchinterval()

    async def two_at_once() -> list[float]:
        first = asyncio.ensure_future(process.in_thread(work))
        second = asyncio.ensure_future(process.in_thread(lambda: sys.getswitchinterval()))
        seen.append(await second)  # one ended, the other still works
        seen.append(sys.getswitchinterval())
        release.set()
        return [await first, sys.getswitchinterval()]

    first_ended, after = asyncio.run(two_at_once())

    assert seen == [process.SWITCH_INTERVAL_S, process.SWITCH_INTERVAL_S]
    assert first_ended == process.SWITCH_INTERVAL_S
    assert after == process.IDLE_SWITCH_INTERVAL_S


def test_a_failing_worker_thread_restores_the_interval() -> None:
    def fails() -> None:
        raise LookupError("no")

    async def run() -> None:
        await process.in_thread(fails)

    with pytest.raises(LookupError):
        asyncio.run(run())
    assert sys.getswitchinterval() == process.IDLE_SWITCH_INTERVAL_S
