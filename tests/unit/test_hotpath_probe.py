"""The compiled probes (``app/index/_probe.c``) answer exactly as their Python twins.

``IndexProbe.withheld_decimal`` against ``PythonProbe``, and ``QueryAnswerer.answer`` (the
one call GET /visible makes per lookup) against ``answer_common_query``, for any index (base
and delta) and any query bytes. tests/integration/test_hotpath.py holds the fast path to the
FastAPI route's answers; this holds the two implementations of the fast path to each other.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.edge.bodies import render_visibility
from app.edge.fast_path import answer_common_query, answer_query
from app.index import VisibilityIndex
from app.index._visibility import PythonProbe
from app.iso3166 import COUNTRY_CODES

probe = pytest.importorskip("app.index._probe", reason="app/index/_probe.c was not compiled")

MAX_ID = 2**63 - 1
RULE_COUNTRIES = ["IN", "DE", "US", "XX"]
ACCOUNTS = st.one_of(st.integers(min_value=1, max_value=40), st.sampled_from([MAX_ID, 10**18]))
PAIRS = st.lists(st.tuples(ACCOUNTS, st.sampled_from(RULE_COUNTRIES)), max_size=30)
ODD_DIGITS = [
    b"", b"012", b"-5", b"+5", b"1e5", b"9223372036854775807", b"9223372036854775808",
    b"18446744073709551616", b"1" * 40, b"12&country=US", b"1&min_revision=0",
]  # fmt: skip
DIGITS = st.one_of(
    st.integers(min_value=0, max_value=45).map(lambda n: str(n).encode()),
    st.sampled_from(ODD_DIGITS),
    st.binary(max_size=6),
)
# Two bytes that may spell a country (any case), a non-country, or junk.
SPELLINGS = st.one_of(
    st.sampled_from([b"IN", b"in", b"iN", b"De", b"us", b"XX", b"xx", b"ZZ", b"FR", b"fr"]),
    st.binary(min_size=0, max_size=3),
)
STARTS = st.sampled_from([b"account=", b"account=", b"Account=", b"x=1&account=", b"", b"account"])
MIDDLES = st.sampled_from([b"&country=", b"&country=", b"&Country=", b"&country", b"country="])
QUERIES = st.one_of(
    st.builds(lambda *parts: b"".join(parts), STARTS, DIGITS, MIDDLES, SPELLINGS),
    st.binary(max_size=30),
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _index(base: list[tuple[int, str]], added: list[tuple[int, str]]) -> VisibilityIndex:
    """An index with a base (bulk-built) and a delta (added after)."""
    index = VisibilityIndex.from_pairs(base, compact_threshold=1_000)
    for account, country in added:
        index.add(account, country)
    return index


def _twin(index: VisibilityIndex) -> PythonProbe:
    return PythonProbe(index._ordinals, index._bitmaps)


@SETTINGS
@given(base=PAIRS, added=PAIRS, queries=st.lists(QUERIES, max_size=20))
def test_compiled_answer_is_the_python_answer(
    base: list[tuple[int, str]], added: list[tuple[int, str]], queries: list[bytes]
) -> None:
    index = _index(base, added)
    twin = _twin(index)
    for query in queries:
        assert answer_query(query, index.probe) == answer_common_query(query, twin), query


@SETTINGS
@given(base=PAIRS, added=PAIRS, digits=st.lists(DIGITS, max_size=20))
def test_compiled_lookup_is_the_python_lookup(
    base: list[tuple[int, str]], added: list[tuple[int, str]], digits: list[bytes]
) -> None:
    index = _index(base, added)
    twin = _twin(index)
    for asked in digits:
        for country in [*RULE_COUNTRIES, "FR"]:  # FR: a country with no bitmap at all
            expected = twin.withheld_decimal(asked, country)
            assert index.probe.withheld_decimal(asked, country) is expected, (asked, country)


def test_the_fast_path_uses_the_compiled_answer() -> None:
    assert answer_query.__self__.__class__ is probe.QueryAnswerer  # type: ignore[attr-defined]


def test_a_probe_sees_updates_and_the_index_a_new_probe_after_compacting() -> None:
    index = VisibilityIndex.from_pairs([(5, "IN")], compact_threshold=1_000)
    before = index.probe
    query = b"account=7&country=IN"
    assert answer_query(query, before) == b'{"account":"7","country":"IN","visible":true}'
    index.add(7, "XX")  # into the delta and the XX bitmap, in place
    assert answer_query(query, before) == b'{"account":"7","country":"IN","visible":false}'
    index.discard(5, "IN")
    index.compact()
    assert index.probe is not before
    assert answer_query(query, index.probe) == b'{"account":"7","country":"IN","visible":false}'
    assert answer_query(b"account=5&country=IN", index.probe) == (
        b'{"account":"5","country":"IN","visible":true}'
    )


def test_the_body_is_the_route_body_for_every_viewer_country() -> None:
    index = VisibilityIndex.from_pairs([(5, "IN"), (6, "XX")])
    for code in sorted(COUNTRY_CODES):
        for spelling in (code, code.lower()):
            for account in (b"5", b"6", b"7"):
                query = b"account=" + account + b"&country=" + spelling.encode()
                compiled = answer_query(query, index.probe)
                assert compiled == answer_common_query(query, _twin(index))
                assert compiled is not None
                withheld = account == b"6" or (account == b"5" and code == "IN")
                assert orjson.loads(compiled) == {
                    "account": account.decode(),
                    "country": code,
                    "visible": not withheld,
                }
                assert compiled == render_visibility(account.decode(), code, not withheld)
    assert answer_query(b"account=5&country=XX", index.probe) is None  # not a viewer country


def test_compiled_probes_refuse_what_they_cannot_read() -> None:
    index = VisibilityIndex.from_pairs([(5, "IN")])
    base = index._ordinals.base_probe
    with pytest.raises(TypeError):
        probe.IndexProbe(base, [], {}, "XX")
    with pytest.raises(TypeError):
        probe.IndexProbe(object(), {}, {}, "XX")
    with pytest.raises(TypeError, match="initialised once"):
        index.probe.__init__(base, {}, {}, "XX")  # type: ignore[misc]
    with pytest.raises(TypeError, match="2 arguments"):
        index.probe.withheld_decimal(b"5")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="bytes"):
        index.probe.withheld_decimal("5", "IN")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not initialised"):
        probe.IndexProbe.__new__(probe.IndexProbe).withheld_decimal(b"5", "IN")
    with pytest.raises(ValueError, match="upper-case country code"):
        probe.QueryAnswerer(["IN", "de"])
    with pytest.raises(ValueError, match="upper-case country code"):
        probe.QueryAnswerer(["IND"])
    with pytest.raises(ValueError, match="upper-case country code"):
        probe.QueryAnswerer([7])
    answerer = probe.QueryAnswerer(["IN"])
    with pytest.raises(TypeError, match="initialised once"):
        answerer.__init__(["IN"])
    with pytest.raises(TypeError, match="IndexProbe"):
        answerer.answer(b"account=5&country=IN", _twin(index))
    with pytest.raises(TypeError, match="bytes"):
        answerer.answer("account=5&country=IN", index.probe)
    assert answerer.answer(b"account=5&country=IN", index.probe) is not None
