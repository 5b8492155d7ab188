"""A replica's indexes (accounts and posts) against plain ``set`` oracles: changes, snapshots,
compaction, and the post lookup's body and scope."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.domain import Change, ChangeOp, Subject, post_scope
from app.edge.bodies import render_post_visibility
from app.edge.fast_path import answer_post_query
from app.index import VisibilityIndex, _snapshot
from app.replication.indexes import Indexes

IDS = st.one_of(st.integers(min_value=1, max_value=60), st.just(2**63 - 1))
COUNTRIES = st.sampled_from(["IN", "DE", "US", "XX"])
VIEWERS = ["IN", "DE", "US", "BR"]


def _withheld(pairs: set[tuple[int, str]], subject: int, country: str) -> bool:
    return (subject, country) in pairs or (subject, "XX") in pairs


class IndexesMachine(RuleBasedStateMachine):
    """Random changes of account and post rules, applied in revision order, with snapshots
    and compactions in between: every lookup agrees with the oracles."""

    def __init__(self) -> None:
        super().__init__()
        self.indexes = Indexes(
            accounts=VisibilityIndex(compact_threshold=8),
            posts=VisibilityIndex(compact_threshold=8),
        )
        self.revision = 0
        self.accounts: set[tuple[int, str]] = set()
        self.posts: set[tuple[int, str]] = set()

    def _apply(self, op: ChangeOp, account: int, country: str, post: int | None) -> None:
        self.revision += 1
        change = Change(self.revision, op, account, country, post=post)
        reached, complete = self.indexes.apply([change], after=self.revision - 1)
        assert (reached, complete) == (self.revision, True)
        oracle = self.accounts if post is None else self.posts
        pair = (account if post is None else post, country)
        if op is ChangeOp.WITHHOLD:
            oracle.add(pair)
        else:
            oracle.discard(pair)

    @rule(account=IDS, country=COUNTRIES, post=st.none() | IDS, lift=st.booleans())
    def change(self, account: int, country: str, post: int | None, lift: bool) -> None:
        self._apply(ChangeOp.LIFT if lift else ChangeOp.WITHHOLD, account, country, post)

    @rule(
        items=st.lists(
            st.tuples(IDS, COUNTRIES, st.none() | IDS, st.booleans()), min_size=1, max_size=12
        )
    )
    def changes_at_once(self, items: list[tuple[int, str, int | None, bool]]) -> None:
        """Several changes in one call: applied in runs of one operation on one index."""
        first = self.revision + 1
        changes = []
        for offset, (account, country, post, lift) in enumerate(items):
            op = ChangeOp.LIFT if lift else ChangeOp.WITHHOLD
            changes.append(Change(first + offset, op, account, country, post=post))
            oracle = self.accounts if post is None else self.posts
            pair = (account if post is None else post, country)
            if lift:
                oracle.discard(pair)
            else:
                oracle.add(pair)
        reached, complete = self.indexes.apply(changes, after=self.revision)
        self.revision += len(items)
        assert (reached, complete) == (self.revision, True)

    @rule()
    def snapshot_and_reload(self) -> None:
        self.indexes = Indexes.from_bytes(self.indexes.to_bytes())

    @precondition(lambda self: any(i.compaction_due() for i in self.indexes.all()))
    @rule()
    def compact(self) -> None:
        for index in self.indexes.all():
            if index.compaction_due():
                index.compact()

    @invariant()
    def agrees_with_the_oracles(self) -> None:
        assert set(self.indexes.accounts.pairs()) == self.accounts
        assert set(self.indexes.posts.pairs()) == self.posts
        for subject in (1, 2, 30, 2**63 - 1):
            for viewer in VIEWERS:
                assert self.indexes.accounts.is_withheld(subject, viewer) == _withheld(
                    self.accounts, subject, viewer
                )
                assert self.indexes.posts.is_withheld(subject, viewer) == _withheld(
                    self.posts, subject, viewer
                )
        assert self.indexes.pairs() == len(self.accounts) + len(self.posts)


IndexesMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_indexes_agree_with_set_oracles = IndexesMachine.TestCase


def test_a_gap_in_the_changes_stops_before_it() -> None:
    indexes = Indexes()
    changes = [Change(1, ChangeOp.WITHHOLD, 5, "IN", post=9), Change(3, ChangeOp.WITHHOLD, 5, "DE")]
    assert indexes.apply(changes, after=0) == (1, False)
    assert indexes.posts.is_withheld(9, "IN")
    assert not indexes.accounts.is_withheld(5, "DE")


def test_a_gap_after_a_run_applies_the_run_first() -> None:
    indexes = Indexes()
    changes = [
        Change(1, ChangeOp.WITHHOLD, 5, "IN"),
        Change(2, ChangeOp.WITHHOLD, 6, "IN"),
        Change(2, ChangeOp.WITHHOLD, 7, "IN"),  # already applied: skipped
        Change(4, ChangeOp.LIFT, 5, "IN"),
    ]
    assert indexes.apply(changes, after=0) == (2, False)
    assert set(indexes.accounts.pairs()) == {(5, "IN"), (6, "IN")}


def test_a_bare_account_snapshot_loads_with_no_post_rules() -> None:
    accounts = VisibilityIndex.from_pairs([(7, "IN"), (8, "XX")])
    loaded = Indexes.from_bytes(accounts.to_bytes())
    assert loaded.accounts == accounts
    assert len(loaded.posts) == 0


@pytest.mark.parametrize(
    "data",
    [b"", b"WHLDSET\n", b"WHLDSET\n\x02\x00\x02\x00", b"nonsense", Indexes().to_bytes() + b"x"],
)
def test_a_malformed_snapshot_container_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="snapshot"):
        Indexes.from_bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    accounts=st.lists(st.tuples(IDS, COUNTRIES), max_size=12),
    posts=st.lists(st.tuples(IDS, COUNTRIES), max_size=12),
    account=IDS,
    post=IDS,
    viewer=st.sampled_from(VIEWERS),
)
def test_the_fast_path_post_answer_is_the_route_body_with_the_authors_scope_first(
    accounts: list[tuple[int, str]],
    posts: list[tuple[int, str]],
    account: int,
    post: int,
    viewer: str,
) -> None:
    account_index, post_index = (
        VisibilityIndex.from_pairs(accounts),
        VisibilityIndex.from_pairs(posts),
    )
    query = b"account=%d&post=%d&country=%s" % (account, post, viewer.lower().encode())
    body = answer_post_query(query, account_index.probe, post_index.probe)
    scope = post_scope(
        author_withheld=_withheld(set(accounts), account, viewer),
        post_withheld=_withheld(set(posts), post, viewer),
    )
    assert scope in (None, Subject.ACCOUNT, Subject.POST)
    expected = render_post_visibility(
        str(account), str(post), viewer, scope.value if scope is not None else None
    )
    assert body == expected


@pytest.mark.parametrize(
    "query",
    [
        b"account=1&country=IN",
        b"account=1&post=2&country=ZZ",
        b"account=01&post=2&country=IN",
        b"account=1&post=&country=IN",
        b"post=2&account=1&country=IN",
        b"account=1&post=2&x=3&country=IN",
    ],
)
def test_other_shapes_are_left_to_the_route(query: bytes) -> None:
    empty = VisibilityIndex()
    assert answer_post_query(query, empty.probe, empty.probe) is None


def test_a_snapshot_encoded_later_is_the_state_it_was_asked_for_at(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_snapshot, "_COPY_CHUNK", 7)  # parts are joined across many copies
    indexes = Indexes()
    base = [Change(r, ChangeOp.WITHHOLD, r, "IN") for r in range(1, 41)]
    indexes.apply(base, after=0)
    indexes.accounts.compact()  # a base and, below, a delta
    more = [
        Change(41, ChangeOp.WITHHOLD, 500, "XX"),
        Change(42, ChangeOp.WITHHOLD, 5, "DE", post=77),
        Change(43, ChangeOp.LIFT, 3, "IN"),
    ]
    indexes.apply(more, after=40)
    whole = indexes.to_bytes()
    pairs = (set(indexes.accounts.pairs()), set(indexes.posts.pairs()))
    encode = indexes.snapshot_later()
    later = [
        Change(44, ChangeOp.WITHHOLD, 600, "FR"),
        Change(45, ChangeOp.LIFT, 500, "XX"),
        Change(46, ChangeOp.LIFT, 5, "DE", post=77),
        Change(47, ChangeOp.LIFT, 4, "IN"),
    ]
    indexes.apply(later, after=43)
    data = encode()
    assert bytes(data) == whole
    loaded = Indexes.from_bytes(bytes(data))
    assert (set(loaded.accounts.pairs()), set(loaded.posts.pairs())) == pairs
