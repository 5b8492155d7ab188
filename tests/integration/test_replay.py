"""Replay equals incremental: rebuilding the index from the database at revision n gives exactly
the bitmaps a process reaches by applying the changelog up to n, whatever the history was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.db import Database
from app.domain import LiftCause
from app.replication.cold_start import load_state
from app.replication.replica import Replica
from app.repositories import changelog, snapshots
from app.services import withholdings as service
from app.services.withholdings import RuleTerms

ACCOUNTS = st.sampled_from([1, 2, 3, 10**17 + 1, 2**63 - 1])
COUNTRIES = st.sampled_from(["IN", "US", "XX"])
PAIR = st.tuples(ACCOUNTS, COUNTRIES)
Op = tuple[str, list[tuple[int, str]]]
OPS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["withhold", "lift", "expire"]), st.lists(PAIR, min_size=1, max_size=1)
        ),
        st.tuples(st.just("bulk"), st.lists(PAIR, min_size=1, max_size=6)),
    ),
    max_size=25,
)


def _reset(db: Database) -> None:
    with db.writing() as session:
        session.execute(text("DELETE FROM changelog"))
        session.execute(text("DELETE FROM index_snapshot"))
        session.execute(text("DELETE FROM withholding"))
        session.execute(text("UPDATE changelog_head SET revision = 0"))


def _run(db: Database, op: Op, now: datetime) -> None:
    kind, pairs = op
    (account, country) = pairs[0]
    terms = RuleTerms(reason="r", order_ref=None, expires_at=None)
    with db.writing() as session:
        if kind == "withhold":
            service.withhold(
                session, account=account, country=country, terms=terms, actor="t", now=now
            )
        elif kind == "lift":
            service.lift(
                session,
                account=account,
                country=country,
                reason=LiftCause.REVIEW,
                actor="t",
                now=now,
            )
        elif kind == "bulk":
            items = [(account, country, None) for account, country in pairs]
            service.bulk_withhold(session, items=items, terms=terms, actor="t", now=now)
        else:
            expiring = RuleTerms(reason="r", order_ref=None, expires_at=now + timedelta(seconds=1))
            service.withhold(
                session, account=account, country=country, terms=expiring, actor="t", now=now
            )
    if kind == "expire":
        with db.writing() as session:
            service.expire_due(session, now=now + timedelta(seconds=2))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_rebuilding_at_any_revision_equals_applying_the_changelog(
    db: Database, ops: list[Op]
) -> None:
    _reset(db)
    incremental = Replica()
    now = datetime.now(UTC)
    for step, op in enumerate(ops):
        _run(db, op, now + timedelta(seconds=10 * step))
        with db.reading() as session:
            assert incremental.apply(
                changelog.list_after(session, incremental.revision, limit=10_000)
            )
        if step % 4 == 3:  # now and then a stored snapshot, so rebuilding replays after it
            with db.writing() as session:
                snapshots.save(
                    session,
                    revision=incremental.revision,
                    pairs=len(incremental.index),
                    data=incremental.index.to_bytes(),
                    now=now,
                    keep=2,
                )
        rebuilt, revision = load_state(db)
        assert revision == incremental.revision
        assert rebuilt.accounts == incremental.index
        assert sorted(rebuilt.accounts.pairs()) == sorted(incremental.index.pairs())
