"""A serving process is tuned once: GIL switch interval and garbage-collector thresholds."""

from __future__ import annotations

import gc
import sys

from app import process


def test_tuning_sets_the_interval_and_thresholds_once() -> None:
    process.tune_for_serving()
    assert sys.getswitchinterval() == process.SWITCH_INTERVAL_S
    assert gc.get_threshold() == process.GC_THRESHOLDS
    frozen = gc.get_freeze_count()
    assert frozen > 0
    process.tune_for_serving()  # again: nothing more is frozen
    assert gc.get_freeze_count() == frozen
