"""Items handed to the write process, pickled a slice at a time."""

from __future__ import annotations

import pickle

import pytest

from app.write_process import PICKLE_SLICE, pickled, pickled_from, unpickled


@pytest.mark.parametrize("count", [0, 1, PICKLE_SLICE, PICKLE_SLICE + 1, 3 * PICKLE_SLICE - 1])
def test_what_is_pickled_in_slices_comes_back_whole_and_in_order(count: int) -> None:
    items = [(account, "IN" if account % 2 else "XX", None) for account in range(1, count + 1)]
    slices = pickled(items)
    assert len(slices) == -(-count // PICKLE_SLICE)
    assert all(len(pickle.loads(piece)) <= PICKLE_SLICE for piece in slices)  # noqa: S301
    assert unpickled(slices) == items


def test_items_pickled_from_a_request_come_back_converted_and_leave_it_empty() -> None:
    source = [{"account": account} for account in range(1, 3 * PICKLE_SLICE + 2)]
    expected = [item["account"] for item in source]

    slices = pickled_from(source, lambda item: item["account"])

    assert unpickled(slices) == expected
    assert source == [], "the request's items are freed as they are handed over"
