"""How a serving process is tuned for latency, once its state is loaded.

Lookups run on the event loop's thread; database writes run in worker threads that hold the GIL
while they execute Python. Two interpreter defaults then cost lookups their latency:

- The GIL's switch interval (5 ms by default): a thread that wants the GIL waits that long for a
  busy one to let go, so during a large write every lookup can wait as long. At 1 ms the loop gets
  it back within a millisecond. But a short interval costs when nothing else runs: under granian
  the server's own threads take the GIL for every request, and at 1 ms the loop hands it over
  far more often than it needs to (``docs/performance.md``). So the interval is 1 ms only while
  a worker thread is at work (``in_thread``), and the interpreter's own otherwise.
- The cyclic garbage collector: a full collection scans every tracked object, all those of
  start-up (modules, the app, the routes) included, holding the GIL throughout, each time a large
  write's objects trigger one. ``gc.freeze`` moves what exists
  after start-up out of the collector's sight: later collections scan only newer objects. And a
  large write's objects survive long enough to reach the oldest generation and trigger full
  collections over and over, each as long as they are many: full collections wait for 1,000
  middle-generation ones instead of 10 (``docs/performance.md``). Cycles of garbage live longer
  (the service makes few: its objects are freed by reference counting); nothing is leaked.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable
from typing import Final, TypeVar

from anyio import to_thread

# While any worker thread is at work; otherwise the interpreter's own (5 ms).
SWITCH_INTERVAL_S: Final = 0.001
IDLE_SWITCH_INTERVAL_S: Final = sys.getswitchinterval()
# CPython's defaults are (700, 10, 10).
GC_THRESHOLDS: Final = (700, 10, 1000)


_tuned = False


def tune_for_serving() -> None:
    """Once per process (an app started again in the same process, as tests do, changes
    nothing more)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


T = TypeVar("T")
_working = 0  # worker threads at work, across every event loop of the process
_working_lock = threading.Lock()


async def in_thread(func: Callable[[], T]) -> T:
    """``func()`` in a worker thread; while it runs, the GIL switches every 1 ms so that the
    event loop's thread gets it back quickly."""
    global _working
    with _working_lock:
        _working += 1
        if _working == 1:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        return await to_thread.run_sync(func)
    finally:
        with _working_lock:
            _working -= 1
            if _working == 0:
                sys.setswitchinterval(IDLE_SWITCH_INTERVAL_S)
