"""The replica compacts its index in a worker thread, and lookups stay right meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from app.domain import Change, ChangeOp
from app.index import VisibilityIndex
from app.index import _ordinals as ordinal_maps
from app.index._ordinals import OrdinalMap
from app.index._visibility import Compacted
from app.replication import replica as sync_replica
from app.replication.replica import Replica


def _withholds(first_revision: int, accounts: range, country: str) -> list[Change]:
    return [
        Change(revision=first_revision + i, op=ChangeOp.WITHHOLD, account=a, country=country)
        for i, a in enumerate(accounts)
    ]


@pytest.mark.anyio
async def test_compaction_runs_aside_and_keeps_every_update_made_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replica = Replica()
    replica.load(VisibilityIndex.from_pairs([], compact_threshold=100), 0)
    index = replica.index
    release = threading.Event()
    started = threading.Event()
    begin = VisibilityIndex.begin_compaction

    def held_compaction(self: VisibilityIndex) -> Callable[[], Compacted]:
        work = begin(self)

        def slow() -> Compacted:
            started.set()
            assert release.wait(10)
            return work()

        return slow

    monkeypatch.setattr(VisibilityIndex, "begin_compaction", held_compaction)
    assert replica.apply(_withholds(1, range(1, 151), "IN"))  # past the threshold of 100
    assert await anyio.to_thread.run_sync(started.wait, 5)  # the worker has its copies
    assert not index.compaction_due()  # running: not started twice
    # While the worker holds its copies: more changes, all visible at once.
    lift = Change(revision=151, op=ChangeOp.LIFT, account=7, country="IN")
    assert replica.apply([lift, *_withholds(152, range(1001, 1051), "XX")])
    assert replica.index.is_withheld(1020, "FR")
    assert not replica.index.is_withheld(7, "IN")
    expected = set(replica.index.pairs())
    release.set()
    await replica.settle()
    assert replica.index is index
    assert set(index.pairs()) == expected
    assert index._ordinals.delta_size == 50  # the 150 compacted into the base; 50 came after
    assert not index.is_withheld(7, "IN")
    assert index.is_withheld(150, "IN")


def test_without_an_event_loop_the_replica_compacts_inline() -> None:
    replica = Replica()
    replica.load(VisibilityIndex.from_pairs([], compact_threshold=10), 0)
    assert replica.apply(_withholds(1, range(1, 21), "IN"))
    assert replica.index._ordinals.delta_size == 0
    assert replica.index._ordinals.base_size == 20


@pytest.mark.anyio
async def test_the_compacted_away_delta_is_freed_a_slice_at_a_time_between_lookups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A dict delta and Python probes, as installed without a compiler.
    monkeypatch.setattr(ordinal_maps, "DeltaMap", None)
    monkeypatch.setattr(ordinal_maps, "BaseProbe", None)
    replica = Replica()
    replica.load(VisibilityIndex.from_pairs([], compact_threshold=100), 0)
    replaced = replica.index._ordinals
    assert isinstance(replaced.delta, dict)
    ticks = 0
    ticks_at_each_slice: list[int] = []
    forget = OrdinalMap.forget_delta

    def counted(self: OrdinalMap, count: int) -> None:
        ticks_at_each_slice.append(ticks)
        forget(self, count)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(sync_replica, "FORGET_SLICE", 10)
    monkeypatch.setattr(OrdinalMap, "forget_delta", counted)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(ticker)
        assert replica.apply(_withholds(1, range(1, 151), "IN"))
        await replica.settle()
        tasks.cancel_scope.cancel()

    assert replica.index._ordinals is not replaced
    assert replaced.delta == {}
    assert len(ticks_at_each_slice) == 15  # 150 entries, 10 at a time
    assert ticks_at_each_slice == sorted(set(ticks_at_each_slice)), "no lookup ran in between"
    assert replica.index.is_withheld(150, "IN")
