"""``DeltaMap`` (``app/index/_probe.c``): the ordinal map's delta answers as the dict it
replaced."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.index._compiled import DeltaMap

pytestmark = pytest.mark.skipif(DeltaMap is None, reason="app/index/_probe.c is not built")

MAX_ID = (1 << 63) - 1
ids = st.integers(min_value=1, max_value=MAX_ID)
# Ids that collide in few slots exercise the probing; any int may be asked for.
crowded = st.integers(min_value=1, max_value=64).map(lambda i: i << 58 if i < 32 else i)
asked = st.one_of(ids, crowded, st.integers(min_value=-(2**70), max_value=2**70))


@settings(max_examples=200, deadline=None)
@given(added=st.lists(st.one_of(ids, crowded), unique=True, max_size=300), probes=st.lists(asked))
def test_it_answers_as_a_dict(added: list[int], probes: list[int]) -> None:
    delta, oracle = DeltaMap(), {}
    for ordinal, account in enumerate(added, start=1_000):
        delta[account] = ordinal
        oracle[account] = ordinal
        assert len(delta) == len(oracle)

    for account in [*added, *probes]:
        assert delta.get(account) == oracle.get(account, -1)
        assert delta.get(account, None) == oracle.get(account)
    assert bool(delta) == bool(oracle)


def test_extend_numbers_ids_from_first_and_refuses_a_duplicate() -> None:
    delta = DeltaMap()
    delta.extend(np.array([7, 3, 2**62], dtype=np.uint64), 100)

    assert [delta[7], delta[3], delta[2**62]] == [100, 101, 102]
    with pytest.raises(ValueError, match="duplicate"):
        delta.extend(np.array([9, 3], dtype=np.uint64), 103)
    with pytest.raises(KeyError):
        delta[3] = 5  # an id keeps the ordinal it has
    assert delta[3] == 101


@pytest.mark.parametrize("account", [0, -1, MAX_ID + 1, 2**64])
def test_it_refuses_what_no_account_has(account: int) -> None:
    delta = DeltaMap()
    with pytest.raises(ValueError, match="account id"):
        delta[account] = 1
    assert delta.get(account) == -1
    with pytest.raises(KeyError):
        delta[account]


def test_ordinals_are_32_bit_and_ids_ints() -> None:
    delta = DeltaMap()
    with pytest.raises(ValueError, match="32-bit ordinal"):
        delta[5] = 2**32
    with pytest.raises(TypeError):
        delta.get("5")  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        del delta[5]  # type: ignore[attr-defined]


def test_it_holds_a_few_bytes_a_slot_and_frees_them_on_clear() -> None:
    delta = DeltaMap()
    delta.extend(np.arange(1, 100_001, dtype=np.uint64), 0)

    # At most 3/4 full: 131,072 or 262,144 slots of 12 bytes, against ~110 bytes a dict entry.
    assert 100_000 * 12 < sys.getsizeof(delta) <= 262_144 * 12 + 1_024
    delta.clear()
    assert len(delta) == 0
    assert sys.getsizeof(delta) < 1_024
    assert delta.get(5) == -1
    delta[5] = 1  # usable again
    assert delta[5] == 1
