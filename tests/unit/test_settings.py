"""Settings that take a syntax of their own reject what they cannot read, naming the field."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from app.config import Settings, parse_cpu_list

linux_only = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux's affinity")


@linux_only
@pytest.mark.parametrize(
    ("text", "cpus"), [("0", {0}), ("0,0", {0}), (" 0 - 0 ", {0}), ("0-0,0", {0})]
)
def test_a_cpu_list_reads_as_taskset_writes_it(text: str, cpus: set[int]) -> None:
    assert parse_cpu_list(text) == cpus


@linux_only
def test_ranges_and_lists_combine() -> None:
    last = (os.cpu_count() or 1) - 1
    assert parse_cpu_list(f"0-{last}") == set(range(last + 1))
    assert parse_cpu_list(f"{last},0") == {0, last}


@linux_only
@pytest.mark.parametrize("text", ["", "a", "1-", "-1", "2-1", "0;1", "1.5", "99999"])
def test_what_is_not_a_cpu_list_of_this_machine_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"CPU|range|not a CPU"):
        parse_cpu_list(text)


@linux_only
def test_the_setting_names_itself_when_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITHHELD_WRITE_PROCESS_CPUS", "0-x")
    with pytest.raises(ValidationError, match="write_process_cpus"):
        Settings()


def test_unset_or_blank_means_the_workers_own_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITHHELD_WRITE_PROCESS_CPUS", " ")
    assert Settings().write_process_cpu_set is None
    monkeypatch.delenv("WITHHELD_WRITE_PROCESS_CPUS")
    assert Settings().write_process_cpu_set is None


@linux_only
def test_a_set_list_is_read_once_as_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITHHELD_WRITE_PROCESS_CPUS", "0")
    assert Settings().write_process_cpu_set == frozenset({0})
