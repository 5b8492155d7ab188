"""The visibility index against a plain ``set[tuple[int, str]]`` oracle."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from pyroaring import BitMap

from app.index import ALL_COUNTRIES, VisibilityIndex
from app.index import _ordinals as ordinal_maps
from app.index._compiled import DeltaMap
from app.index._ordinals import OrdinalMap, bucket_bits, hash_ids, unhash
from app.index._snapshot import encode
from app.index._visibility import _CHUNK, Compacted, _bitmap_of, _ordinals_in

Pair = tuple[int, str]

COUNTRIES = ["IN", "US", "DE", "FR", "BR", "JP", "TR", "RU", "XX"]
REAL_COUNTRIES = [code for code in COUNTRIES if code != ALL_COUNTRIES]
MAX_ID = 2**63 - 1
# A few fixed ids so that drawn sequences repeat accounts often.
FAMILIAR_IDS = [1, 2, 3, 1_000, MAX_ID, MAX_ID - 1, 10**17, 1_445_378_126_137_278_464]

account_ids = st.one_of(
    st.integers(min_value=10**17, max_value=MAX_ID),
    st.integers(min_value=1, max_value=1_000),
    st.sampled_from(FAMILIAR_IDS),
)
countries = st.sampled_from(COUNTRIES)
real_countries = st.sampled_from(REAL_COUNTRIES)
pair_lists = st.lists(st.tuples(account_ids, countries), max_size=60)
# (True, pair) adds the pair, (False, pair) discards it.
operations = st.lists(st.tuples(st.booleans(), account_ids, countries), max_size=80)
thresholds = st.sampled_from([0, 1, 3, None])
# Not account ids, but lookups must answer False rather than crash.
OUT_OF_RANGE = [0, 2**64 - 1, 2**63, -1, 2**64, 2**64 + 1, -(2**64) + 1]

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle_withheld(oracle: set[Pair], account: int, country: str) -> bool:
    return (account, country) in oracle or (account, ALL_COUNTRIES) in oracle


def sizes_of(oracle: set[Pair]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for _, country in oracle:
        sizes[country] = sizes.get(country, 0) + 1
    return dict(sorted(sizes.items()))


def assert_matches(index: VisibilityIndex, oracle: set[Pair], probes: Iterable[int] = ()) -> None:
    """Every observable of ``index`` agrees with the oracle."""
    listed = list(index.pairs())
    assert len(listed) == len(set(listed)), "pairs() repeated a pair"
    assert set(listed) == oracle
    assert len(index) == len(oracle)
    assert index.country_sizes() == sizes_of(oracle)
    accounts = {account for account, _ in oracle} | set(probes)
    for account in accounts:
        expected = sorted(country for acc, country in oracle if acc == account)
        assert index.countries_of(account) == expected
        for country in REAL_COUNTRIES:
            expected_withheld = oracle_withheld(oracle, account, country)
            assert index.is_withheld(account, country) is expected_withheld, (account, country)
            digits = str(account).encode()
            decimal = index.withheld_decimal(digits, country)
            assert decimal is (expected_withheld if 1 <= account <= MAX_ID else None), digits


def build_incrementally(pairs: Iterable[Pair], threshold: int | None = None) -> VisibilityIndex:
    index = VisibilityIndex(compact_threshold=threshold)
    for account, country in pairs:
        index.add(account, country)
    return index


# -- properties against the oracle ------------------------------------------------


@FAST
@given(ops=operations, threshold=thresholds, probes=st.lists(account_ids, max_size=10))
def test_adds_and_discards_match_a_set_oracle(
    ops: list[tuple[bool, int, str]], threshold: int | None, probes: list[int]
) -> None:
    index = VisibilityIndex(compact_threshold=threshold)
    oracle: set[Pair] = set()
    for adding, account, country in ops:
        pair = (account, country)
        if adding:
            assert index.add(account, country) is (pair not in oracle)
            oracle.add(pair)
        else:
            assert index.discard(account, country) is (pair in oracle)
            oracle.discard(pair)
    assert_matches(index, oracle, probes)


# (True, pairs) adds the pairs in one batch, (False, pairs) discards them.
batches = st.lists(st.tuples(st.booleans(), pair_lists), max_size=12)


def apply_operations(
    index: VisibilityIndex, oracle: set[Pair], ops: list[tuple[bool, int, str]]
) -> None:
    for adding, account, country in ops:
        if adding:
            index.add(account, country)
            oracle.add((account, country))
        else:
            index.discard(account, country)
            oracle.discard((account, country))


def apply_batches(
    index: VisibilityIndex, oracle: set[Pair], drawn: list[tuple[bool, list[Pair]]]
) -> None:
    for adding, pairs in drawn:
        accounts, codes = [a for a, _ in pairs], [c for _, c in pairs]
        if adding:
            index.add_batch(accounts, codes)
            oracle |= set(pairs)
        else:
            index.discard_batch(accounts, codes)
            oracle -= set(pairs)


@FAST
@given(drawn=batches, threshold=thresholds, probes=st.lists(account_ids, max_size=10))
def test_batched_adds_and_discards_match_a_set_oracle(
    drawn: list[tuple[bool, list[Pair]]], threshold: int | None, probes: list[int]
) -> None:
    index = VisibilityIndex(compact_threshold=threshold)
    oracle: set[Pair] = set()
    apply_batches(index, oracle, drawn)
    assert_matches(index, oracle, probes)


@FAST
@given(base=pair_lists, during=batches, singles=operations)
def test_batches_during_a_background_compaction_are_replayed(
    base: list[Pair], during: list[tuple[bool, list[Pair]]], singles: list[tuple[bool, int, str]]
) -> None:
    index = VisibilityIndex.from_pairs(base, compact_threshold=0)
    index.defer_compaction = True
    index.add(7, "IN")  # a delta id: compaction is due
    oracle = set(base) | {(7, "IN")}
    work = index.begin_compaction()
    apply_batches(index, oracle, during)
    apply_operations(index, oracle, singles)
    assert set(index.pairs()) == oracle
    index.finish_compaction(work())
    assert_matches(index, oracle)


def test_a_batch_is_checked_before_any_pair_is_added() -> None:
    index = VisibilityIndex.from_pairs([(1, "IN")])
    for accounts, codes, problem in (
        ([2, 0], ["IN", "IN"], "account ids must be in"),
        ([2, 2**63], ["IN", "IN"], "account ids must be in"),
        ([2, 3], ["IN", "in"], "not a country code"),
        ([2, 3], ["IN"], "differ in length"),
    ):
        with pytest.raises(ValueError, match=problem):
            index.add_batch(accounts, codes)
    assert set(index.pairs()) == {(1, "IN")}
    assert index._ordinals.delta_size == 0


def test_a_discarded_batch_passes_over_ids_no_account_can_have() -> None:
    index = VisibilityIndex.from_pairs([(1, "XX"), (MAX_ID, "XX"), (5, "IN")])
    index.add(3, "XX")
    index.discard_batch([*OUT_OF_RANGE, 5, 3], ["XX"] * len(OUT_OF_RANGE) + ["IN", "XX"])
    assert set(index.pairs()) == {(1, "XX"), (MAX_ID, "XX")}
    index.discard_batch(OUT_OF_RANGE, ["XX"] * len(OUT_OF_RANGE))
    assert len(index) == 2


@FAST
@given(pairs=pair_lists, account=account_ids, country=real_countries)
def test_everywhere_code_withholds_in_every_real_country(
    pairs: list[Pair], account: int, country: str
) -> None:
    index = VisibilityIndex.from_pairs(pairs)
    index.add(account, ALL_COUNTRIES)
    assert all(index.is_withheld(account, code) for code in REAL_COUNTRIES)
    assert ALL_COUNTRIES in index.countries_of(account)
    index.discard(account, ALL_COUNTRIES)
    assert index.is_withheld(account, country) is ((account, country) in set(pairs))


@FAST
@given(
    pairs=pair_lists,
    absent=st.lists(account_ids, max_size=20),
    country=real_countries,
    threshold=thresholds,
    data=st.data(),
)
def test_withheld_many_equals_is_withheld_one_by_one(
    pairs: list[Pair],
    absent: list[int],
    country: str,
    threshold: int | None,
    data: st.DataObject,
) -> None:
    # Half bulk-built, half added later, so the delta is exercised too.
    half = len(pairs) // 2
    index = VisibilityIndex.from_pairs(pairs[:half], compact_threshold=threshold)
    for account, code in pairs[half:]:
        index.add(account, code)
    present = [account for account, _ in pairs]
    asked = data.draw(st.permutations(present + present[:5] + absent + [0, 2**64 - 1]))
    got = index.withheld_many(np.array(asked, dtype=np.uint64), country)
    assert got.dtype == np.bool_
    assert got.shape == (len(asked),)
    assert got.tolist() == [index.is_withheld(account, country) for account in asked]
    assert got.tolist() == [oracle_withheld(set(pairs), account, country) for account in asked]


@FAST
@given(pairs=pair_lists, threshold=thresholds)
def test_bulk_builds_equal_incremental_adds(pairs: list[Pair], threshold: int | None) -> None:
    incremental = build_incrementally(pairs, threshold)
    from_pairs = VisibilityIndex.from_pairs(pairs)
    accounts = np.array([account for account, _ in pairs], dtype=np.uint64)
    from_unicode = VisibilityIndex.from_arrays(
        accounts, np.array([code for _, code in pairs], dtype="<U2")
    )
    from_bytes_codes = VisibilityIndex.from_arrays(
        accounts.astype(np.int64), np.array([code.encode() for _, code in pairs], dtype="S2")
    )
    for built in (from_pairs, from_unicode, from_bytes_codes):
        assert built == incremental
        assert incremental == built
        assert_matches(built, set(pairs))


@FAST
@given(pairs=pair_lists, ops=operations, threshold=thresholds)
def test_snapshot_round_trip_keeps_every_pair(
    pairs: list[Pair], ops: list[tuple[bool, int, str]], threshold: int | None
) -> None:
    index = VisibilityIndex.from_pairs(pairs, compact_threshold=threshold)
    oracle = set(pairs)
    apply_operations(index, oracle, ops)  # leaves a delta behind unless it compacted
    data = index.to_bytes()
    loaded = VisibilityIndex.from_bytes(data, compact_threshold=threshold)
    assert loaded == index
    assert_matches(loaded, oracle)
    assert loaded.to_bytes() == data  # same layout, same bytes
    # The loaded index keeps working: its delta continues where the snapshot's ended.
    loaded.add(MAX_ID - 7, "TR")
    oracle.add((MAX_ID - 7, "TR"))
    assert_matches(loaded, oracle)


@FAST
@given(ops=operations, threshold=st.sampled_from([0, 1, 2]))
def test_compaction_with_tiny_threshold_keeps_everything(
    ops: list[tuple[bool, int, str]], threshold: int
) -> None:
    index = VisibilityIndex(compact_threshold=threshold)
    reference = VisibilityIndex(compact_threshold=10**9)  # never compacts
    oracle: set[Pair] = set()
    for adding, account, country in ops:
        if adding:
            assert index.add(account, country) is reference.add(account, country)
            oracle.add((account, country))
        else:
            assert index.discard(account, country) is reference.discard(account, country)
            oracle.discard((account, country))
        assert index._ordinals.delta_size <= threshold
    assert index == reference
    assert_matches(index, oracle)
    index.compact()
    assert index._ordinals.delta_size == 0
    assert index == reference
    assert_matches(index, oracle)


# -- compaction ---------------------------------------------------------------------


def test_compaction_drops_accounts_that_have_no_pair_left() -> None:
    index = VisibilityIndex.from_pairs([(10**17 + i, "DE") for i in range(100)])
    for i in range(50):
        index.add(10**18 + i, "FR")
    for i in range(100):
        index.discard(10**17 + i, "DE")
    assert index._ordinals.base_size == 100
    assert index._ordinals.delta_size == 50
    before = index.memory_bytes()
    index.compact()
    assert index._ordinals.base_size == 50
    assert index._ordinals.delta_size == 0
    assert index.memory_bytes() < before
    assert set(index.pairs()) == {(10**18 + i, "FR") for i in range(50)}
    assert not index.is_withheld(10**17, "DE")
    assert index.country_sizes() == {"FR": 50}


def test_default_threshold_compacts_when_delta_passes_a_sixteenth_of_the_base() -> None:
    base = np.arange(1, 1_600_001, dtype=np.uint64) * np.uint64(7_919)
    index = VisibilityIndex.from_arrays(base, np.full(len(base), "US", dtype="S2"))
    assert index._ordinals.base_size == 1_600_000
    for i in range(100_000):  # a sixteenth of the base: not beyond it yet
        index.add(10**18 + i, "IN")
    assert index._ordinals.delta_size == 100_000
    index.add(10**18 + 100_000, "IN")
    assert index._ordinals.delta_size == 0
    assert index._ordinals.base_size == 1_700_001
    assert index.country_sizes() == {"IN": 100_001, "US": 1_600_000}
    assert index.is_withheld(10**18 + 5, "IN")
    assert index.is_withheld(7_919 * 3, "US")
    assert not index.is_withheld(7_919 * 3, "IN")


def test_background_compaction_replays_what_changed_while_it_ran() -> None:
    index = VisibilityIndex.from_pairs([(a, "IN") for a in range(1, 1001)], compact_threshold=50)
    index.defer_compaction = True
    for account in range(2001, 2101):
        index.add(account, "DE")
    assert index.compaction_due()
    work = index.begin_compaction()
    assert not index.compaction_due()
    with pytest.raises(RuntimeError):
        index.compact()
    # Meanwhile: new accounts, a lift of a base pair and of a delta pair, a re-add.
    for account in range(3001, 3011):
        index.add(account, "XX")
    index.discard(5, "IN")
    index.discard(2050, "DE")
    index.add(5, "FR")
    expected = set(index.pairs())
    assert index.is_withheld(3005, "US")
    assert not index.is_withheld(5, "IN")
    compacted = work()  # what the worker thread would compute, from the copies
    replaced = index._ordinals
    assert index.finish_compaction(compacted) is replaced
    assert set(index.pairs()) == expected
    assert index._ordinals.delta_size == 10  # only the ids first seen while it ran
    assert index.is_withheld(3005, "US")
    assert index.is_withheld(5, "FR")
    assert not index.is_withheld(5, "IN")
    assert not index.is_withheld(2050, "DE")
    with pytest.raises(RuntimeError):
        index.finish_compaction(compacted)


# -- edges and validation -------------------------------------------------------------


@pytest.mark.parametrize("account", OUT_OF_RANGE)
def test_lookups_outside_the_id_range_answer_false(account: int) -> None:
    # Stored ids whose values are congruent to out-of-range ones modulo 2**64.
    index = VisibilityIndex.from_pairs([(1, "XX"), (MAX_ID, "XX"), (5, "XX")])
    index.add(3, "XX")
    assert index.is_withheld(account, "US") is False
    assert index.countries_of(account) == []
    assert index.discard(account, "XX") is False
    assert index.is_withheld(1, "US")
    assert index.is_withheld(3, "US")


def test_withheld_many_answers_false_for_out_of_range_and_negative_ids() -> None:
    index = VisibilityIndex.from_pairs([(1, "XX"), (MAX_ID, "US")])
    unsigned = index.withheld_many(np.array([0, 2**64 - 1, 2**63, 1], dtype=np.uint64), "US")
    assert unsigned.tolist() == [False, False, False, True]
    signed = index.withheld_many(np.array([-1, -(2**63), MAX_ID, 0], dtype=np.int64), "US")
    assert signed.tolist() == [False, False, True, False]
    assert index.withheld_many(np.zeros(0, dtype=np.uint64), "US").tolist() == []
    assert VisibilityIndex().withheld_many(np.array([1], dtype=np.uint64), "US").tolist() == [False]


def test_withheld_many_rejects_non_integer_arrays() -> None:
    index = VisibilityIndex()
    with pytest.raises(TypeError):
        index.withheld_many(np.array([1.0]), "US")
    with pytest.raises(ValueError, match="1-D"):
        index.withheld_many(np.ones((2, 2), dtype=np.uint64), "US")


@pytest.mark.parametrize("account", [0, -1, 2**63, 2**64 - 1, 2**64])
def test_add_rejects_ids_outside_one_to_two_pow_63(account: int) -> None:
    index = VisibilityIndex()
    with pytest.raises(ValueError, match="out of range"):
        index.add(account, "US")
    assert len(index) == 0


@pytest.mark.parametrize("country", ["us", "USA", "U", "", "U1", "ÜS", "  "])
def test_add_rejects_malformed_country_codes(country: str) -> None:
    index = VisibilityIndex()
    with pytest.raises(ValueError, match="country code"):
        index.add(5, country)
    assert len(index) == 0
    assert index.country_sizes() == {}


def test_from_arrays_rejects_bad_input() -> None:
    ids = np.array([5, 6], dtype=np.uint64)
    codes = np.array(["US", "DE"], dtype="<U2")
    with pytest.raises(ValueError, match="length"):
        VisibilityIndex.from_arrays(ids, codes[:1])
    with pytest.raises(ValueError, match="country code"):
        VisibilityIndex.from_arrays(ids, np.array(["US", "d"], dtype="<U2"))
    with pytest.raises(ValueError, match="two characters"):
        VisibilityIndex.from_arrays(ids, np.array(["US", "DEU"], dtype="<U3"))
    with pytest.raises(ValueError, match="ASCII"):
        VisibilityIndex.from_arrays(ids, np.array(["US", "ÜS"], dtype="<U2"))
    with pytest.raises(ValueError, match=r"1\.\.2"):
        VisibilityIndex.from_arrays(np.array([0, 6], dtype=np.uint64), codes)
    with pytest.raises(ValueError, match=r"1\.\.2"):
        VisibilityIndex.from_arrays(np.array([2**63, 6], dtype=np.uint64), codes)
    with pytest.raises(ValueError, match=r"1\.\.2"):
        VisibilityIndex.from_arrays(np.array([-5, 6], dtype=np.int64), codes)
    with pytest.raises(TypeError):
        VisibilityIndex.from_arrays(ids, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"1\.\.2"):
        VisibilityIndex.from_pairs([(2**64, "US")])


def test_from_arrays_accepts_wider_string_dtypes_of_two_letter_codes() -> None:
    built = VisibilityIndex.from_arrays(
        np.array([5, 6, 5], dtype=np.uint64), np.array(["US", "DE", "US"], dtype="<U8")
    )
    assert set(built.pairs()) == {(5, "US"), (6, "DE")}


def test_empty_index_answers_and_round_trips() -> None:
    index = VisibilityIndex()
    assert len(index) == 0
    assert list(index.pairs()) == []
    assert index.country_sizes() == {}
    assert not index.is_withheld(5, "US")
    assert index.countries_of(5) == []
    assert index.discard(5, "US") is False
    assert VisibilityIndex.from_bytes(index.to_bytes()) == index
    assert VisibilityIndex.from_pairs([]) == index
    index.compact()
    assert len(index) == 0


def test_equality_ignores_layout_but_not_pairs() -> None:
    pairs = [(10**17 + i, REAL_COUNTRIES[i % 8]) for i in range(200)]
    bulk = VisibilityIndex.from_pairs(pairs)
    incremental = build_incrementally(reversed(pairs), threshold=10**9)
    assert bulk == incremental
    incremental.discard(*pairs[3])
    assert bulk != incremental
    incremental.add(pairs[3][0], "XX")
    assert bulk != incremental
    assert bulk != object()


# -- snapshot validation ----------------------------------------------------------------


def _sample_snapshot() -> bytes:
    index = VisibilityIndex.from_pairs([(10**17 + i, COUNTRIES[i % 9]) for i in range(300)])
    index.add(MAX_ID, "JP")
    return index.to_bytes()


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_from_bytes_rejects_arbitrary_bytes(data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError is the contract
        VisibilityIndex.from_bytes(data)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_from_bytes_rejects_truncated_or_altered_snapshots(data: st.DataObject) -> None:
    snapshot = _sample_snapshot()
    cut = data.draw(st.integers(0, len(snapshot) - 1))
    with pytest.raises(ValueError):  # noqa: PT011
        VisibilityIndex.from_bytes(snapshot[:cut])
    position = data.draw(st.integers(0, len(snapshot) - 1))
    flip = data.draw(st.integers(1, 255))
    altered = bytearray(snapshot)
    altered[position] ^= flip
    with pytest.raises(ValueError):  # noqa: PT011
        VisibilityIndex.from_bytes(bytes(altered))
    with pytest.raises(ValueError):  # noqa: PT011
        VisibilityIndex.from_bytes(snapshot + b"\0")


def test_from_bytes_names_an_unknown_version() -> None:
    snapshot = bytearray(_sample_snapshot())
    struct.pack_into("<H", snapshot, 8, 2)
    with pytest.raises(ValueError, match="unsupported snapshot version 2"):
        VisibilityIndex.from_bytes(bytes(snapshot))


def _hashes(*ids: int) -> np.ndarray[tuple[int], np.dtype[np.uint64]]:
    return hash_ids(np.array(ids, dtype=np.uint64))


def test_from_bytes_rejects_well_checksummed_but_inconsistent_snapshots() -> None:
    # encode() computes a valid checksum, so only the consistency checks can catch these.
    one = OrdinalMap(_hashes(10**17))
    with pytest.raises(ValueError, match="unknown accounts"):
        VisibilityIndex.from_bytes(encode(one, {"US": BitMap([1])}))
    unsorted = OrdinalMap(np.sort(_hashes(10**17, 10**18))[::-1].copy())
    with pytest.raises(ValueError, match="hash order"):
        VisibilityIndex.from_bytes(encode(unsorted, {"US": BitMap([0])}))
    repeated = OrdinalMap.from_parts(_hashes(10**17), np.array([10**17], dtype=np.uint64))
    with pytest.raises(ValueError, match="repeats a base id"):
        VisibilityIndex.from_bytes(encode(repeated, {"US": BitMap([0])}))
    zero = OrdinalMap(_hashes(0))
    with pytest.raises(ValueError, match="outside"):
        VisibilityIndex.from_bytes(encode(zero, {"US": BitMap([0])}))
    with pytest.raises(ValueError, match="not a country code"):
        VisibilityIndex.from_bytes(encode(one, {"us": BitMap([0])}))


# -- the ordinal map's building blocks ----------------------------------------------------


def test_hash_is_a_bijection_that_unhash_inverts() -> None:
    ids = np.array([0, 1, 2, MAX_ID, 2**64 - 1, 10**18], dtype=np.uint64)
    assert unhash(hash_ids(ids)).tolist() == ids.tolist()
    assert len(set(hash_ids(ids).tolist())) == len(ids)


def test_bulk_build_of_shared_and_repeated_accounts_keeps_every_distinct_pair() -> None:
    # The build sorts each country's hashes, then merges the runs: accounts in several
    # countries and repeated pairs must end up with one ordinal each, in every bitmap.
    rng = np.random.default_rng(7)
    accounts = rng.integers(1, 2**63, size=400_000, dtype=np.uint64)
    accounts = np.concatenate([accounts, accounts[:100_000], accounts[:50_000]])
    codes = np.array(COUNTRIES, dtype="S2")[rng.integers(0, 9, size=len(accounts))]
    index = VisibilityIndex.from_arrays(accounts, codes)
    expected = set(zip(accounts.tolist(), [c.decode() for c in codes.tolist()], strict=True))
    assert len(index) == len(expected)
    assert set(index.pairs()) == expected
    assert index.accounts_count() == len(set(accounts.tolist()))
    for country in ("IN", "XX"):
        members = np.array(sorted({a for a, c in expected if c == country}), dtype=np.uint64)
        assert index.withheld_many(members, country).all()


@pytest.mark.parametrize(
    ("n", "bits"), [(0, 4), (64, 4), (100, 5), (4_000, 10), (10_000_000, 21), (12_000_000, 22)]
)
def test_buckets_number_about_a_quarter_of_the_keys(n: int, bits: int) -> None:
    assert bucket_bits(n) == bits


def test_large_random_build_is_compact_and_answers_like_the_arrays() -> None:
    rng = np.random.default_rng(11)
    n = 300_000
    accounts = rng.integers(10**17, 10**18, size=n, dtype=np.uint64)
    codes = np.array(COUNTRIES, dtype="S2")[rng.integers(0, 9, size=n)]
    index = VisibilityIndex.from_arrays(accounts, codes)
    assert len(index) == n  # random 60-bit ids do not collide at this size
    assert index.memory_bytes() <= 24 * n
    assert index.memory_bytes() >= 8 * n  # at least the keys
    picked = rng.integers(0, n, size=2_000)
    for account, code in zip(accounts[picked].tolist(), codes[picked].tolist(), strict=True):
        country = code.decode()
        assert index.countries_of(account) == [country]
        if country != ALL_COUNTRIES:
            assert index.is_withheld(account, country)
            other = REAL_COUNTRIES[(REAL_COUNTRIES.index(country) + 1) % 8]
            assert not index.is_withheld(account, other)
        else:
            assert index.is_withheld(account, "JP")
    listed = np.array([account for account, _ in index.pairs()], dtype=np.uint64)
    assert np.array_equal(np.sort(listed), np.sort(accounts))


def test_batch_lookups_agree_with_single_ones_as_a_large_delta_grows() -> None:
    # get_many searches the base bucket by bucket and a sorted copy of the delta that it
    # refreshes (merging in new ids) only after thousands of adds: look up between adds of
    # every size, so each of those states is compared against the one-by-one path.
    rng = np.random.default_rng(12)
    base = rng.integers(1, 2**63 - 1, size=50_000, dtype=np.uint64)
    added = rng.integers(1, 2**63 - 1, size=30_000, dtype=np.uint64)
    index = VisibilityIndex.from_arrays(base, np.full(len(base), "IN", dtype="S2"))
    oracle = set(base.tolist())
    done = 0
    for step in (1, 100, 4_000, 4_097, 20, 9_000, 12_782):
        for account in added[done : done + step].tolist():
            index.add(account, "IN")
            oracle.add(account)
        done += step
        asked = np.concatenate(
            [
                rng.choice(base, 2_000),
                rng.choice(added[:done], 2_000),
                rng.choice(added[done:], 1_000) if done < len(added) else added[:0],
                rng.integers(1, 2**63 - 1, size=1_000, dtype=np.uint64),
            ]
        )
        got = index.withheld_many(asked, "IN").tolist()
        assert got == [account in oracle for account in asked.tolist()]
        assert got == [index.is_withheld(account, "IN") for account in asked.tolist()]
    assert done == len(added)
    assert index._ordinals.delta_size == len(added)  # no compaction hid the delta path


def test_bucket_search_finds_every_key_of_crowded_buckets() -> None:
    # Ids chosen so their hashes share a few buckets: the binary search inside a bucket must
    # take enough steps for the longest one.
    rng = np.random.default_rng(13)
    hashes = np.sort(rng.integers(0, 2**64 - 1, size=5_000, dtype=np.uint64))
    hashes[:600] = np.arange(600, dtype=np.uint64) + np.uint64(2**60)  # one bucket, 600 keys
    hashes = np.unique(hashes)
    ordinals = OrdinalMap(hashes)
    ids = unhash(hashes)
    assert ordinals.get_many(ids).tolist() == list(range(len(ids)))
    beside = unhash(np.arange(600, 1_200, dtype=np.uint64) + np.uint64(2**60))
    assert ordinals.get_many(beside).tolist() == [-1] * 600


def test_a_replaced_map_forgets_a_dict_delta_a_slice_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ordinal_maps, "DeltaMap", None)  # as installed without a compiler
    monkeypatch.setattr(ordinal_maps, "BaseProbe", None)
    ordinals = OrdinalMap(_hashes(10, 20))
    for account in range(100, 110):
        ordinals.get_or_add(account)
    assert isinstance(ordinals.delta, dict)

    ordinals.forget_delta(4)
    assert len(ordinals.delta) == 6
    ordinals.forget_delta(4)
    ordinals.forget_delta(4)
    assert ordinals.delta == {}
    ordinals.forget_delta(4)  # nothing left: nothing to do
    assert ordinals.delta == {}


@pytest.mark.skipif(DeltaMap is None, reason="app/index/_probe.c is not built")
def test_a_replaced_map_frees_a_compiled_delta_at_once() -> None:
    ordinals = OrdinalMap(_hashes(10, 20))
    for account in range(100, 110):
        ordinals.get_or_add(account)

    ordinals.forget_delta(4)

    assert len(ordinals.delta) == 0
    assert ordinals.delta.get(105) == -1


# -- stateful: any interleaving of operations keeps the index equal to the oracle -------------


class IndexMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")

    def __init__(self) -> None:
        super().__init__()
        self.oracle: set[Pair] = set()
        self.threshold: int | None = None
        self.index = VisibilityIndex()
        self.pending: Callable[[], Compacted] | None = None

    @initialize(pairs=pair_lists, threshold=thresholds)
    def bulk_build(self, pairs: list[Pair], threshold: int | None) -> None:
        self.threshold = threshold
        self.index = VisibilityIndex.from_pairs(pairs, compact_threshold=threshold)
        self.oracle = set(pairs)

    @rule(target=accounts, account=account_ids)
    def remember_account(self, account: int) -> int:
        return account

    @rule(account=accounts, country=countries)
    def add(self, account: int, country: str) -> None:
        assert self.index.add(account, country) is ((account, country) not in self.oracle)
        self.oracle.add((account, country))

    @rule(account=account_ids, country=countries)
    def add_any(self, account: int, country: str) -> None:
        assert self.index.add(account, country) is ((account, country) not in self.oracle)
        self.oracle.add((account, country))

    @rule(account=accounts, country=countries)
    def discard(self, account: int, country: str) -> None:
        assert self.index.discard(account, country) is ((account, country) in self.oracle)
        self.oracle.discard((account, country))

    @precondition(lambda self: bool(self.oracle))
    @rule(data=st.data())
    def discard_existing(self, data: st.DataObject) -> None:
        account, country = data.draw(st.sampled_from(sorted(self.oracle)))
        assert self.index.discard(account, country) is True
        self.oracle.discard((account, country))

    @precondition(lambda self: self.pending is None)
    @rule()
    def compact(self) -> None:
        self.index.compact()

    @precondition(lambda self: self.pending is None)
    @rule()
    def begin_background_compaction(self) -> None:
        self.pending = self.index.begin_compaction()
        assert not self.index.compaction_due()

    @precondition(lambda self: self.pending is not None)
    @rule()
    def finish_background_compaction(self) -> None:
        # The worker's part runs only now: updates made since began must not leak into it
        # (it works on copies) and must all be replayed onto its result.
        assert self.pending is not None
        compacted = self.pending()
        self.pending = None
        self.index.finish_compaction(compacted)

    @precondition(lambda self: self.pending is not None)
    @rule()
    def abandon_background_compaction(self) -> None:
        self.pending = None
        self.index.abandon_compaction()

    @rule()
    def snapshot_round_trip(self) -> None:
        loaded = VisibilityIndex.from_bytes(self.index.to_bytes(), compact_threshold=self.threshold)
        assert loaded == self.index
        self.index, self.pending = loaded, None

    @rule()
    def rebuild_from_pairs(self) -> None:
        rebuilt = VisibilityIndex.from_pairs(self.index.pairs(), compact_threshold=self.threshold)
        assert rebuilt == self.index
        self.index, self.pending = rebuilt, None

    @rule(account=accounts, country=real_countries)
    def lookup(self, account: int, country: str) -> None:
        expected = oracle_withheld(self.oracle, account, country)
        assert self.index.is_withheld(account, country) is expected
        assert self.index.withheld_many(np.array([account, account], dtype=np.uint64), country)[
            0
        ] == bool(expected)

    @invariant()
    def equals_oracle(self) -> None:
        assert set(self.index.pairs()) == self.oracle
        assert len(self.index) == len(self.oracle)
        assert self.index.country_sizes() == sizes_of(self.oracle)


IndexMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_index_state_machine = IndexMachine.TestCase


def test_from_arrays_turns_numpy_huge_page_advice_back_on() -> None:
    from app.index import _visibility

    switch = _visibility._set_madvise_hugepage
    assert switch is not None, "numpy moved _set_madvise_hugepage: the cold-start build lost it"
    before = switch(True)
    try:
        index = VisibilityIndex.from_arrays(np.array([5, 7, 5], np.uint64), np.array(["IN"] * 3))
        assert switch(True) is True  # the build turned the advice off and back on
        with pytest.raises(ValueError, match="account ids"):
            VisibilityIndex.from_arrays(np.array([0], np.uint64), np.array(["IN"]))
        assert switch(True) is True  # ... also when it fails
    finally:
        switch(before)
    assert index.is_withheld(5, "IN")
    assert index.is_withheld(7, "IN")
    assert len(index) == 2


# -- the probe by decimal digits (GET /visible), compiled and in Python ------------------

NOT_ACCOUNTS = [
    b"", b"0", b"00", b"012", b"-5", b"+5", b" 5", b"5 ", b"1_000", b"12a", b"\xd9\xa1",
    b"9223372036854775808", b"18446744073709551615", b"99999999999999999999", b"1" * 40,
]  # fmt: skip


def _probes(index: VisibilityIndex) -> list[Callable[[bytes], int]]:
    """The base probe in Python and, when built, compiled."""
    ordinals = index._ordinals
    probes: list[Callable[[bytes], int]] = [ordinals.base_ordinal_of_decimal]
    if ordinals.base_probe is not None:
        probes.append(ordinals.base_probe.ordinal_of_decimal)
    return probes


@FAST
@given(pairs=pair_lists, asked=st.lists(account_ids, max_size=20), junk=st.binary(max_size=22))
def test_compiled_and_python_probes_agree_on_any_digits(
    pairs: list[Pair], asked: list[int], junk: bytes
) -> None:
    index = VisibilityIndex.from_pairs(pairs)
    base = index._ordinals
    for digits in [*(str(a).encode() for a in asked), *NOT_ACCOUNTS, junk]:
        answers = {probe(digits) for probe in _probes(index)}
        assert len(answers) == 1, digits
        ordinal = answers.pop()
        if ordinal >= 0:
            assert base.get(int(digits)) == ordinal
        elif ordinal == -1:
            assert base.get(int(digits)) == -1
        else:
            assert digits not in {str(a).encode() for a in range(1, 1001)}
            assert not (digits.isdigit() and digits[:1] != b"0" and 0 < int(digits) <= MAX_ID)


@pytest.mark.parametrize("digits", NOT_ACCOUNTS)
def test_withheld_decimal_hands_malformed_ids_back(digits: bytes) -> None:
    index = VisibilityIndex.from_pairs([(5, "IN"), (MAX_ID, "XX")])
    assert index.withheld_decimal(digits, "IN") is None


def test_probe_is_compiled_under_ci() -> None:
    from app.index import COMPILED_PROBE

    if not COMPILED_PROBE and os.environ.get("CI") != "true":
        pytest.skip("app/index/_probe.c was not compiled (no C compiler at install)")
    assert COMPILED_PROBE, "CI installs with a C compiler: the compiled probe must be built"


def test_compiled_probe_refuses_arrays_that_do_not_fit() -> None:
    probe = pytest.importorskip("app.index._probe", reason="app/index/_probe.c was not compiled")
    keys = np.array([1, 2, 3], dtype=np.uint64)
    offsets = np.array([0] * 16 + [3], dtype=np.uint32)
    probe.BaseProbe(keys, offsets, 60)  # 2**4 buckets: fits
    with pytest.raises(ValueError, match="offsets do not match"):
        probe.BaseProbe(keys, offsets, 59)  # 2**5 buckets would read past the offsets
    with pytest.raises(ValueError, match="offsets do not match"):
        probe.BaseProbe(keys, np.array([0] * 16 + [4], dtype=np.uint32), 60)
    with pytest.raises(ValueError, match="offsets do not match"):
        probe.BaseProbe(keys, np.array([2, 1] + [3] * 15, dtype=np.uint32), 60)
    with pytest.raises(ValueError, match="1-D array of 8-byte"):
        probe.BaseProbe(keys.astype(np.uint32), offsets, 60)
    with pytest.raises(ValueError, match="shift"):
        probe.BaseProbe(keys, offsets, 64)
    with pytest.raises(TypeError, match="bytes"):
        probe.BaseProbe(keys, offsets, 60).ordinal_of_decimal("12")


def test_a_bitmap_built_in_chunks_holds_every_ordinal() -> None:
    """Arrays longer than one pyroaring call's chunk, sorted or not, lose nothing."""
    rng = np.random.default_rng(3)
    ordinals = rng.choice(4 * _CHUNK, size=2 * _CHUNK + 7, replace=False)
    for array_ in (np.sort(ordinals), ordinals):
        assert _bitmap_of(array_.astype(np.uint32)) == BitMap(ordinals.tolist())
    assert _bitmap_of(np.empty(0, dtype=np.uint32)) == BitMap()


@pytest.mark.parametrize(
    "ordinals",
    [
        [],
        [0],
        list(range(_CHUNK)),  # one call's worth: read in one piece
        [0, _CHUNK - 1, _CHUNK, 2**32 - 1],
        np.random.default_rng(4).choice(5 * _CHUNK, size=3 * _CHUNK + 11, replace=False).tolist(),
        list(range(_CHUNK - 5, 3 * _CHUNK + 5)),  # chunks' edges, dense
    ],
    ids=["empty", "zero", "one-chunk", "edges", "sparse", "dense"],
)
def test_a_bitmap_read_in_chunks_gives_every_ordinal_in_order(ordinals: list[int]) -> None:
    bitmap = BitMap(ordinals)
    read = _ordinals_in(bitmap)
    assert read.dtype == np.uint32
    assert read.tolist() == sorted(ordinals)
