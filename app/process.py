"""How a serving process is tuned for latency, once its state is loaded.

Lookups run on the event loop's thread; database writes run in worker threads that hold the GIL
while they execute Python. Two interpreter defaults then cost lookups their latency:

- The GIL's switch interval (5 ms by default): a thread that wants the GIL waits that long for a
  busy one to let go, so during a large write every lookup can wait as long. At 1 ms the loop gets
  it back within a millisecond; with no thread busy nothing switches and nothing is lost.
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
from typing import Final

SWITCH_INTERVAL_S: Final = 0.001
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
    sys.setswitchinterval(SWITCH_INTERVAL_S)
