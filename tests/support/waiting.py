"""Bounded waits for a condition, instead of sleeping a fixed time and hoping it holds.

Not for a test on the event loop: its sleep would hold up the very tasks the test waits for."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_S = 0.02


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    interval: float = POLL_S,
    message: str | None = None,
) -> float:
    """Call ``predicate`` until it returns something true; the seconds that took.

    AssertionError (with ``message``) when it still answers false after ``timeout`` seconds."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(message or f"not true within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started
