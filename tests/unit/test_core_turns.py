"""``app.core_turns``: when a process offers its core, and where it takes turns at all."""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor

import pytest

from app import core_turns
from app.core_turns import RETRY_NS, TURN_NS, LoopTurns


class Clocks:
    """The thread's CPU clock and the monotonic one, moved by hand; a yield that takes
    ``yield_ns`` of wall time."""

    def __init__(self) -> None:
        self.cpu_ns = 0
        self.wall_ns = 0
        self.yield_ns = 0
        self.yields = 0

    def sched_yield(self) -> int:
        self.yields += 1
        self.wall_ns += self.yield_ns
        return 0


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Clocks:
    fake = Clocks()
    monkeypatch.setattr("time.thread_time_ns", lambda: fake.cpu_ns)
    monkeypatch.setattr("time.monotonic_ns", lambda: fake.wall_ns)
    monkeypatch.setattr(core_turns, "_sched_yield", fake.sched_yield)
    core_turns._begin()
    return fake


def run_for(clocks: Clocks, ns: int, step: int = 10_000) -> None:
    for _ in range(ns // step):
        clocks.cpu_ns += step
        assert core_turns.take_turn() == 0, "SQLite's progress handler goes on"


def test_the_core_is_offered_after_a_turn_of_cpu_time(clocks: Clocks) -> None:
    clocks.yield_ns = 1_000_000  # someone else ran

    run_for(clocks, TURN_NS - 10_000)
    assert clocks.yields == 0
    run_for(clocks, 10_000)
    assert clocks.yields == 1
    run_for(clocks, 3 * TURN_NS)
    assert clocks.yields == 4, "one offer per turn while offers are taken"


def test_an_offer_nobody_takes_comes_again_sooner_then_less_often(clocks: Clocks) -> None:
    clocks.yield_ns = 0  # the yield came straight back
    run_for(clocks, TURN_NS)
    assert clocks.yields == 1

    run_for(clocks, RETRY_NS)
    assert clocks.yields == 2
    run_for(clocks, 2 * RETRY_NS)
    assert clocks.yields == 3
    run_for(clocks, 4 * RETRY_NS)
    assert clocks.yields == 4
    run_for(clocks, TURN_NS)
    assert clocks.yields == 5, "backing off stops at one offer a turn"

    clocks.yield_ns = 1_000_000  # taken: the next offer a whole turn later, then retries
    run_for(clocks, TURN_NS)
    assert clocks.yields == 6
    clocks.yield_ns = 0
    run_for(clocks, TURN_NS)
    assert clocks.yields == 7
    run_for(clocks, RETRY_NS)
    assert clocks.yields == 8


def test_an_alarm_during_an_offer_offers_nothing_more(clocks: Clocks) -> None:
    def reentering() -> int:
        clocks.yields += 1
        clocks.cpu_ns += TURN_NS
        core_turns.take_turn()  # as the alarm's handler would, mid-yield
        return 0

    clocks.cpu_ns = TURN_NS
    core_turns._sched_yield = reentering  # type: ignore[misc]
    core_turns.take_turn()
    assert clocks.yields == 1


@pytest.mark.parametrize(
    ("mine", "child", "shared"),
    [
        ({3}, None, True),
        ({3}, frozenset({3}), True),
        ({3}, frozenset({0}), False),
        ({0, 1}, None, False),
        ({0, 1}, frozenset({1}), False),
    ],
)
def test_turns_are_taken_only_where_the_child_shares_the_one_core(
    monkeypatch: pytest.MonkeyPatch, mine: set[int], child: frozenset[int] | None, shared: bool
) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: mine, raising=False)
    assert core_turns.shares_one_core(child) is shared


def noop() -> None:
    """An initializer's target."""


def alarm_state() -> tuple[bool, bool, bool, bool]:
    """In the pool's child: whether its alarm is ours, armed between tasks, armed after
    ``start_turns`` and after ``stop_turns``."""

    def armed() -> bool:
        return signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0)

    ours = signal.getsignal(signal.SIGALRM) is core_turns._on_alarm
    between = armed()
    core_turns.start_turns()
    during = armed()
    core_turns.stop_turns()
    return ours, between, during, armed()


@pytest.mark.parametrize("taking_turns", [True, False])
def test_a_child_takes_turns_only_while_it_works_and_only_if_told(taking_turns: bool) -> None:
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=core_turns.child_initializer,
        initargs=(taking_turns, f"{__name__}:noop"),
    ) as pool:
        ours, between, during, after = pool.submit(alarm_state).result(timeout=60)

    assert ours is taking_turns, "no handler of ours: a SIGALRM would end the process"
    assert not between, "the initializer's turns end with it"
    assert during is taking_turns
    assert not after


def test_the_loop_takes_turns_from_its_first_begin_to_its_last_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        ticks = 0
        three = asyncio.Event()

        def tick() -> int:
            nonlocal ticks
            ticks += 1
            if ticks == 3:
                three.set()
            return 0

        monkeypatch.setattr(core_turns, "take_turn", tick)
        turns = LoopTurns(enabled=True)
        turns.begin()
        with turns:  # nested: one timer
            assert turns.taking
            async with asyncio.timeout(5):
                await three.wait()
        assert turns.taking, "still one user"
        turns.end()
        assert not turns.taking
        seen = ticks
        await asyncio.sleep(0.01)
        assert ticks == seen, "no tick after the last end"

    asyncio.run(scenario())


def test_an_idle_loop_looks_from_a_timer_and_does_not_spin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looks = 0

    def look() -> int:
        nonlocal looks
        looks += 1
        return 0

    monkeypatch.setattr(core_turns, "take_turn", look)

    async def idle_for(seconds: float) -> None:
        with LoopTurns(enabled=True):
            await asyncio.sleep(seconds)

    asyncio.run(idle_for(0.1))
    # About two looks per IDLE_TIMER_S (the timer's, then one on the next iteration); a loop
    # spinning on call_soon would look tens of thousands of times.
    assert 2 <= looks <= 4 * 0.1 / core_turns.IDLE_TIMER_S


def test_a_loop_not_sharing_a_core_takes_no_turns() -> None:
    async def scenario() -> bool:
        turns = LoopTurns(enabled=False)
        with turns:
            return turns.taking

    assert asyncio.run(scenario()) is False


def test_an_offer_keeps_the_gil() -> None:
    # A PyDLL function: a worker thread that took the GIL during the yield would hold the
    # loop up for a switch interval.
    offer = core_turns._sched_yield
    assert offer._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]
    assert offer() == 0
