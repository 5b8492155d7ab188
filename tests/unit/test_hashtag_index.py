"""The hashtag index against a plain set oracle, its snapshot, and the snapshot container."""

# Full-width spellings are the point here.
# ruff: noqa: RUF001

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.domain import Change, ChangeOp
from app.index import HashtagIndex, VisibilityIndex
from app.replication.indexes import Indexes

COUNTRIES = st.sampled_from(["IN", "US", "DE", "XX"])
VIEWERS = st.sampled_from(["IN", "US", "DE"])
TAGS = st.sampled_from(["farmersprotest", "strasse", "किसान_आंदोलन", "a", "_1", "ｘ"])


class HashtagIndexMachine(RuleBasedStateMachine):
    """Any sequence of restrictions and lifts answers like a set of (tag, country) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.index = HashtagIndex()
        self.oracle: set[tuple[str, str]] = set()

    @rule(tag=TAGS, country=COUNTRIES)
    def add(self, tag: str, country: str) -> None:
        assert self.index.add(tag, country) == ((tag, country) not in self.oracle)
        self.oracle.add((tag, country))

    @rule(tag=TAGS, country=COUNTRIES)
    def discard(self, tag: str, country: str) -> None:
        assert self.index.discard(tag, country) == ((tag, country) in self.oracle)
        self.oracle.discard((tag, country))

    @rule(tags=st.lists(TAGS, min_size=1, max_size=8), country=VIEWERS)
    def batch_agrees_with_single_lookups(self, tags: list[str], country: str) -> None:
        expected = [
            (tag, country) not in self.oracle and (tag, "XX") not in self.oracle for tag in tags
        ]
        assert self.index.eligible_many(tags, country) == expected
        assert [not self.index.is_restricted(tag, country) for tag in tags] == expected

    @invariant()
    def same_pairs(self) -> None:
        assert set(self.index.pairs()) == self.oracle
        assert len(self.index) == len(self.oracle)

    @invariant()
    def snapshot_round_trips(self) -> None:
        assert HashtagIndex.from_bytes(self.index.to_bytes()) == self.index


TestHashtagIndexMachine = HashtagIndexMachine.TestCase
TestHashtagIndexMachine.settings = settings(max_examples=60, stateful_step_count=30)


@given(st.sets(st.tuples(TAGS, COUNTRIES)))
def test_snapshot_round_trips(pairs: set[tuple[str, str]]) -> None:
    index = HashtagIndex.from_pairs(pairs)
    assert set(HashtagIndex.from_bytes(index.to_bytes()).pairs()) == pairs


def test_a_restriction_everywhere_applies_in_every_country() -> None:
    index = HashtagIndex.from_pairs([("farmersprotest", "XX"), ("strasse", "IN")])
    assert index.eligible_many(["farmersprotest", "strasse", "x"], "IN") == [False, False, True]
    assert index.eligible_many(["farmersprotest", "strasse", "x"], "DE") == [False, True, True]


@pytest.mark.parametrize("cut", [0, 5, 20, -1])
def test_a_damaged_snapshot_is_refused(cut: int) -> None:
    data = HashtagIndex.from_pairs([("farmersprotest", "IN"), ("a", "XX")]).to_bytes()
    with pytest.raises(ValueError, match="hashtag"):
        HashtagIndex.from_bytes(data[:cut])
    flipped = bytearray(data)
    flipped[-2] ^= 0xFF
    with pytest.raises(ValueError, match="hashtag"):
        HashtagIndex.from_bytes(bytes(flipped))


def test_container_keeps_hashtags_beside_accounts_and_posts() -> None:
    indexes = Indexes()
    indexes.accounts.add(12, "IN")
    indexes.posts.add(99, "DE")
    indexes.hashtags.add("farmersprotest", "IN")
    loaded = Indexes.from_bytes(indexes.to_bytes())
    assert loaded.accounts.is_withheld(12, "IN")
    assert loaded.posts.is_withheld(99, "DE")
    assert loaded.hashtags.is_restricted("farmersprotest", "IN")
    assert loaded.pairs() == 3


def _version_1_container(accounts: VisibilityIndex, posts: VisibilityIndex) -> bytes:
    """A container as written before hashtags existed (version 1, two parts)."""
    blobs = [accounts.to_bytes(), posts.to_bytes()]
    parts = b"".join(
        struct.pack("<8sQ", name, len(blob))
        for name, blob in zip((b"accounts", b"posts\0\0\0"), blobs, strict=True)
    )
    return b"".join([struct.pack("<8sHH", b"WHLDSET\n", 1, 2), parts, *blobs])


def test_a_version_1_container_reads_with_no_hashtag_restrictions() -> None:
    accounts, posts = VisibilityIndex(), VisibilityIndex()
    accounts.add(12, "IN")
    posts.add(99, "DE")
    loaded = Indexes.from_bytes(_version_1_container(accounts, posts))
    assert loaded.accounts.is_withheld(12, "IN")
    assert loaded.posts.is_withheld(99, "DE")
    assert len(loaded.hashtags) == 0


def test_a_bare_account_index_reads_with_no_hashtag_restrictions() -> None:
    accounts = VisibilityIndex()
    accounts.add(12, "IN")
    loaded = Indexes.from_bytes(accounts.to_bytes())
    assert loaded.accounts.is_withheld(12, "IN")
    assert len(loaded.hashtags) == 0


def test_hashtag_changes_touch_only_the_hashtag_index() -> None:
    indexes = Indexes()
    changes = [
        Change(revision=1, op=ChangeOp.WITHHOLD, account=None, country="IN", hashtag="a"),
        Change(revision=2, op=ChangeOp.WITHHOLD, account=12, country="IN"),
        Change(revision=3, op=ChangeOp.LIFT, account=None, country="IN", hashtag="a"),
        Change(revision=4, op=ChangeOp.WITHHOLD, account=None, country="XX", hashtag="b"),
    ]
    assert indexes.apply(changes, after=0) == (4, True)
    assert set(indexes.hashtags.pairs()) == {("b", "XX")}
    assert indexes.accounts.is_withheld(12, "IN")
    assert len(indexes.accounts) == 1
    assert len(indexes.posts) == 0
