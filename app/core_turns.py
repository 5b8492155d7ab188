"""A serving process and its write process, pinned to one core, share it in short turns.

When both want one core, the kernel hands it from one to the other at its tick (4 ms at
250 Hz): every lookup that arrives during the write process's turn waits up to a tick. So,
while the write process has work, each side gives the core up (``sched_yield``) after half a
millisecond of its own CPU time. Linux's scheduler (EEVDF) then runs the other, which has had
less, until it yields in turn: each keeps its fair share, only the turns get shorter. A yield
that comes straight back handed nothing over (the other side was not owed a turn yet, or
nothing else wants the core): the next offer comes sooner, then less often each time.

Only where the two share one core (``shares_one_core``): with more, the kernel runs them side
by side, and the offers would cost the write its time for nothing.

- The loop looks on each of its iterations while busy (``LoopTurns``), and offers keeping the
  GIL: a worker thread that took it meanwhile would keep the loop waiting a switch interval.
- The write process offers from a ``SIGALRM`` (in Python code) and from SQLite's progress
  handler (inside a statement, where no signal handler runs).
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, Final, cast

TURN_NS: Final = 500_000  # CPU time a side keeps the core before it offers it
RETRY_NS: Final = 100_000  # CPU time before the next offer, after one that came straight back
HANDED_OVER_NS: Final = 30_000  # an offer that took longer let something else run
ALARM_S: Final = 0.000_5  # how often the write process's alarm looks
SPIN_NS: Final = 20_000  # a look this soon after the last: the loop had nothing else to do
IDLE_TIMER_S: Final = 0.002  # how often an idle loop looks
# SQLite virtual-machine instructions between two calls of the progress handler: about a
# tenth of a millisecond of a statement's work.
SQLITE_STEPS: Final = 50_000


def shares_one_core(child_cpus: frozenset[int] | None) -> bool:
    """Whether a write process on ``child_cpus`` (None: this process's) would share this
    process's one core with it."""
    if not hasattr(os, "sched_getaffinity"):
        return False
    mine = os.sched_getaffinity(0)
    return len(mine) == 1 and (child_cpus is None or child_cpus == mine)


def _yield_keeping_gil() -> Callable[[], int]:
    try:
        function = ctypes.PyDLL(None).sched_yield  # PyDLL: the call keeps the GIL
    except (AttributeError, OSError, TypeError):  # no such call, or no C library to ask
        return lambda: 0
    function.argtypes = []
    function.restype = ctypes.c_int
    return cast(Callable[[], int], function)


_sched_yield: Final = _yield_keeping_gil()
# The one thread of a process that takes turns (the loop's, or the write process's main one)
# offers the core once its CPU time passes ``_due_ns``.
_due_ns = 0
_retry_ns = RETRY_NS
_taking_turns = False  # in the write process: whether ``child_initializer`` was told to
offers = 0  # times this process offered the core (tests and diagnostics)


def take_turn() -> int:
    """Offer the core if this thread has had it for a turn (returns 0: SQLite's progress
    handler goes on)."""
    global _due_ns, _retry_ns, offers
    now = time.thread_time_ns()
    if now < _due_ns:
        return 0
    _due_ns = sys.maxsize  # an alarm during the offer does nothing
    offers += 1
    start = time.monotonic_ns()
    _sched_yield()
    handed_over = time.monotonic_ns() - start > HANDED_OVER_NS
    if handed_over:
        _retry_ns = RETRY_NS
        _due_ns = time.thread_time_ns() + TURN_NS
    else:
        _due_ns = time.thread_time_ns() + _retry_ns
        _retry_ns = min(2 * _retry_ns, TURN_NS)
    return 0


def _begin() -> None:
    global _due_ns, _retry_ns
    _due_ns = time.thread_time_ns() + TURN_NS
    _retry_ns = RETRY_NS


def _on_alarm(_signum: int, _frame: Any) -> None:
    take_turn()


def child_initializer(taking_turns: bool, target: str, *args: Any) -> None:
    """A process pool's initializer: runs ``target`` (``"module:function"``, imported only
    now, for a child's imports are most of its start), taking turns if ``taking_turns``, as
    the child then does while it runs a task (``start_turns``, ``stop_turns``)."""
    global _taking_turns
    _taking_turns = taking_turns
    if taking_turns:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.siginterrupt(signal.SIGALRM, False)  # system calls resume, not fail (EINTR)
    start_turns()
    try:
        module, _, name = target.partition(":")
        getattr(importlib.import_module(module), name)(*args)
    finally:
        stop_turns()


def start_turns() -> None:
    if _taking_turns:
        _begin()
        signal.setitimer(signal.ITIMER_REAL, ALARM_S, ALARM_S)


def stop_turns() -> None:
    if _taking_turns:
        signal.setitimer(signal.ITIMER_REAL, 0)


def take_turns_in_statements(dbapi_connection: Any) -> None:
    """A new SQLite connection's statements take turns too, if this process does."""
    if _taking_turns:
        dbapi_connection.set_progress_handler(take_turn, SQLITE_STEPS)


class LoopTurns:
    """The event loop takes turns between ``begin`` and ``end`` (which nest), if ``enabled``:
    while the write process has work.

    A busy loop looks at its CPU time on every iteration (a callback scheduled again with
    ``call_soon``): libuv's timers count whole milliseconds, too coarse for a half-millisecond
    turn. When a look follows the last one within ``SPIN_NS``, the loop did nothing else in
    between: it is idle and would spin, so it looks again from a timer, ``IDLE_TIMER_S``
    later (each wake-up takes the core from the write process)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._users = 0
        self._next: asyncio.Handle | None = None
        self._looked_ns = 0  # wall clock

    def __enter__(self) -> None:
        self.begin()

    def __exit__(self, *_exc: object) -> None:
        self.end()

    def begin(self) -> None:
        self._users += 1
        if self._users == 1 and self.enabled:
            _begin()
            self._looked_ns = 0
            self._next = asyncio.get_running_loop().call_soon(self._look)

    def end(self) -> None:
        self._users -= 1
        if self._users == 0 and self._next is not None:
            self._next.cancel()
            self._next = None

    @property
    def taking(self) -> bool:
        """Whether the loop is taking turns now."""
        return self._next is not None

    def _look(self) -> None:
        take_turn()
        now = time.monotonic_ns()
        idle = now - self._looked_ns < SPIN_NS
        self._looked_ns = now
        loop = asyncio.get_running_loop()
        if idle:
            self._next = loop.call_later(IDLE_TIMER_S, self._look)
        else:
            self._next = loop.call_soon(self._look)
