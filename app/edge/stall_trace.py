"""What held the event loop: every thread's stack, written when the loop stalls.

The loop-lag probe re-arms a watchdog on each of its ticks (``faulthandler``'s, a C thread that
needs no GIL); a tick that comes later than ``threshold`` lets it fire, and it writes the stack
of every thread as it is at that moment: the loop's, and the worker's that holds the GIL if one
does. When the late tick finally comes, a line after the stacks says how long the stall was.
Only code locations are written, never values. Off unless ``WITHHELD_STALL_TRACE_FILE`` is set:
each re-arm starts a watchdog thread, a cost no one should pay unasked.
"""

from __future__ import annotations

import faulthandler
import os
from datetime import UTC, datetime
from pathlib import Path


class StallTracer:
    """Armed once per probe tick of ``interval_s``; fires after ``interval_s + threshold_s``."""

    def __init__(self, path: Path, *, threshold_s: float, interval_s: float) -> None:
        self.threshold_s = threshold_s
        self._fires_after = interval_s + threshold_s
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def arm(self) -> None:
        faulthandler.dump_traceback_later(self._fires_after, file=self._fd)

    def tick(self, lag_s: float) -> None:
        """After a tick ``lag_s`` late: note a stall the watchdog has written, then re-arm."""
        if lag_s >= self.threshold_s:
            ended = datetime.now(UTC).isoformat(timespec="milliseconds")
            line = f"event loop stalled {lag_s * 1000:.1f} ms, until {ended}\n"
            os.write(self._fd, line.encode())
        self.arm()

    def close(self) -> None:
        faulthandler.cancel_dump_traceback_later()
        os.close(self._fd)
