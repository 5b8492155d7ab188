"""The compiled post answerer (``QueryAnswerer.answer_post``, ``app/index/_probe.c``) answers
exactly as its Python twin ``answer_post_query``, for any indexes and any query bytes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.edge.fast_path import answer_post, answer_post_query
from app.index import COMPILED_PROBE, VisibilityIndex
from app.index._visibility import PythonProbe

pytestmark = pytest.mark.skipif(not COMPILED_PROBE, reason="app/index/_probe.c was not compiled")

IDS = st.one_of(st.integers(min_value=1, max_value=40), st.just(2**63 - 1))
PAIRS = st.lists(st.tuples(IDS, st.sampled_from(["IN", "DE", "US", "XX"])), max_size=20)
DIGITS = st.one_of(
    st.integers(min_value=0, max_value=45).map(lambda n: str(n).encode()),
    st.sampled_from([b"", b"012", b"-5", b"1e5", b"9223372036854775808", b"1" * 30, b"7&x=1"]),
    st.binary(max_size=5),
)
COUNTRIES = st.sampled_from([b"IN", b"in", b"De", b"us", b"XX", b"ZZ", b"", b"I"])
KEYS = st.sampled_from([b"&post=", b"&post=", b"&Post=", b"&post", b"post="])
QUERIES = st.one_of(
    st.builds(
        lambda a, key, p, c: b"account=" + a + key + p + b"&country=" + c,
        DIGITS,
        KEYS,
        DIGITS,
        COUNTRIES,
    ),
    st.binary(max_size=40),
)


def _index(base: list[tuple[int, str]], added: list[tuple[int, str]]) -> VisibilityIndex:
    index = VisibilityIndex.from_pairs(base, compact_threshold=1_000)
    for subject, country in added:
        index.add(subject, country)
    return index


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts=st.tuples(PAIRS, PAIRS), posts=st.tuples(PAIRS, PAIRS), query=QUERIES)
def test_compiled_post_answers_equal_the_python_twin(
    accounts: tuple[list[tuple[int, str]], list[tuple[int, str]]],
    posts: tuple[list[tuple[int, str]], list[tuple[int, str]]],
    query: bytes,
) -> None:
    account_index, post_index = _index(*accounts), _index(*posts)
    twin = answer_post_query(
        query,
        PythonProbe(account_index._ordinals, account_index._bitmaps),
        PythonProbe(post_index._ordinals, post_index._bitmaps),
    )
    assert answer_post(query, account_index.probe, post_index.probe) == twin
