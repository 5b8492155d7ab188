"""The fast path's batch parsing and rendering against the slow, obvious definitions."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.edge.bodies import parse_account_list, render_batch
from app.identifiers import MAX_ID, parse_account
from app.limits import MAX_BATCH

FAST = settings(max_examples=300, deadline=None)


def oracle(raw: object) -> list[int] | None:
    if type(raw) is not list or not 1 <= len(raw) <= MAX_BATCH:
        return None
    try:
        return [parse_account(item) for item in raw]
    except ValueError:
        return None


valid_ids = st.integers(1, MAX_ID).map(str)
MALFORMED = ["", "0", "00", "01", "-1", "+1", " 1", "1 ", "1,", ",1", "1,2", "1.0", "1e3"]
near_misses = st.one_of(
    st.sampled_from([*MALFORMED, "١٢", "\ud800"]),
    st.integers(MAX_ID + 1, 10**25).map(str),
    st.text(alphabet="0123456789,", max_size=25),
    st.text(max_size=5),
)
items = st.one_of(valid_ids, valid_ids, near_misses, st.integers(), st.none())


@FAST
@given(st.lists(items, min_size=0, max_size=30))
def test_parse_account_list_accepts_exactly_what_parse_account_accepts(raw: list[object]) -> None:
    got = parse_account_list(raw)
    assert (None if got is None else got.tolist()) == oracle(raw)
    if got is not None:
        assert got.dtype == np.uint64


@pytest.mark.parametrize(
    "raw",
    [
        [],
        ["1"] * (MAX_BATCH + 1),
        "1",
        {"1": 1},
        ["1", "", "2"],
        ["", "12"],
        ["1,", "2"],
        [str(MAX_ID + 1)],
        ["99999999999999999999"],
        ["18446744073709551615"],
    ],
)
def test_parse_account_list_rejects_edge_cases(raw: object) -> None:
    assert parse_account_list(raw) is None


def test_parse_account_list_takes_a_full_batch_of_the_largest_ids() -> None:
    raw = [str(MAX_ID - i) for i in range(MAX_BATCH)]
    got = parse_account_list(raw)
    assert got is not None
    assert got.tolist() == [MAX_ID - i for i in range(MAX_BATCH)]


@FAST
@given(
    st.lists(st.tuples(valid_ids, st.booleans()), min_size=1, max_size=40),
    st.sampled_from(["IN", "DE", "US"]),
)
def test_render_batch_writes_what_orjson_writes(
    results: list[tuple[str, bool]], country: str
) -> None:
    accounts = [account for account, _ in results]
    withheld = np.array([flag for _, flag in results], dtype=bool)
    expected = orjson.dumps(
        {
            "country": country,
            "results": [{"account": a, "visible": not flag} for a, flag in results],
        }
    )
    assert render_batch(country, accounts, withheld) == expected
