"""The cold-start read: every active (id, country) pair as two numpy arrays, fast.

Ten million rules must load in seconds, so this bypasses the ORM: each database aggregates the
pairs itself, and PostgreSQL reads page slices on several backends in one exported snapshot.
"""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.domain import Subject

# Which rows and which id column make each subject's pairs. Each condition is the WHERE of that
# subject's partial unique index (named third), so the aggregates read the index alone.
_SUBJECT_ROWS: dict[Subject, tuple[str, str, str]] = {
    Subject.ACCOUNT: (
        "account_id",
        "lifted_at IS NULL AND post_id IS NULL",
        "uq_withholding_active",
    ),
    Subject.POST: (
        "post_id",
        "lifted_at IS NULL AND post_id IS NOT NULL",
        "uq_withholding_post_active",
    ),
}


def active_pairs_sql(subject: Subject) -> str:
    column, where, _ = _SUBJECT_ROWS[subject]
    return f"SELECT {column}, country FROM withholding WHERE {where}"  # noqa: S608 - constants


ACTIVE_PAIRS_SQL = active_pairs_sql(Subject.ACCOUNT)
# Each database concatenates the active pairs itself, so millions of rows cross into Python as a
# few large values instead of one Python object per row (10M rows: ~8 s by cursor or by COPY,
# which psycopg hands over row by row). Accounts come as 8-byte big-endian integers
# (PostgreSQL) or comma-separated decimals (SQLite); countries as one string of 2-letter codes
# (SQLite: both as BLOBs, see below).
# Both aggregates consume the same rows in the same order, so the two stay aligned.
_PG_ACTIVE_PAIRS = (
    "SELECT string_agg(int8send({column}), ''::bytea), string_agg(country, '') "
    "FROM withholding WHERE {where}"
)
# As BLOBs: the driver then hands over the bytes as they are, where TEXT is decoded into a str
# (0.4 s of 2 s at 10M pairs). INDEXED BY: the subject's partial unique index holds exactly
# these rows, in order; without statistics the planner may pick another index on the table.
_SQLITE_ACTIVE_PAIRS = (
    "SELECT CAST(group_concat({column}) AS BLOB), CAST(group_concat(country, '') AS BLOB) "
    "FROM withholding INDEXED BY {index} WHERE {where}"
)
# Past SQLite's value limit (1 GB of text, ~45M pairs) the same, in index order, this many pairs
# after the previous chunk's last (id, country) at a time.
_SQLITE_CHUNK_PAIRS = (
    "SELECT CAST(group_concat(id) AS BLOB), CAST(group_concat(country, '') AS BLOB) "
    "FROM (SELECT {column} AS id, country FROM withholding INDEXED BY {index} "
    "WHERE {where} AND ({column}, country) > (?, ?) ORDER BY {column}, country LIMIT ?)"
)
_SQLITE_CHUNK = 4_000_000
# PostgreSQL reads a large table in page slices on up to this many backends at once.
_PG_PAGES_PER_SLICE = 20_000
_PG_MAX_SLICES = 4
_FETCH_CHUNK = 262_144

Pairs = tuple[np.ndarray, np.ndarray]


def load_active_pairs(session: Session, subject: Subject = Subject.ACCOUNT) -> Pairs:
    """Every active (id, country) of ``subject``'s rules as two arrays (uint64 ids, ``S2``
    codes), for building its index, read in the session's transaction."""
    column, where, index = _SUBJECT_ROWS[subject]
    connection = session.connection()
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if connection.dialect.name == "postgresql":
            pg_query = _PG_ACTIVE_PAIRS.format(column=column, where=where)
            pairs = _aggregated_pg(session, connection, pg_query)
        else:
            pairs = _aggregated_sqlite(cursor, column=column, where=where, index=index)
        return pairs if pairs is not None else _row_by_row(cursor, active_pairs_sql(subject))
    finally:
        cursor.close()


def _aggregated_pg(session: Session, connection: Any, query: str) -> Pairs | None:
    """The active pairs in one aggregate per slice of the table's pages, the slices read in
    parallel (one backend each) from the session's own snapshot, exported to the others."""
    pages: int = session.execute(
        text("SELECT relpages FROM pg_class WHERE oid = 'withholding'::regclass")
    ).scalar_one()
    slices = min(os.cpu_count() or 1, _PG_MAX_SLICES) if pages >= _PG_PAGES_PER_SLICE else 1
    bounds = [f"({pages * k // slices},0)" for k in range(1, slices)]
    ranges = list(zip(["(0,0)", *bounds], [*bounds, None], strict=True))
    snapshot = (
        session.execute(text("SELECT pg_export_snapshot()")).scalar_one() if slices > 1 else ""
    )
    try:
        # A savepoint: past PostgreSQL's 1 GB value limit (~130M pairs a slice) the query
        # fails, and the transaction (and its snapshot) must survive to read row by row.
        with session.begin_nested():
            parts = _pg_slices(connection, query, ranges, snapshot)
    except DBAPIError:
        return None
    decoded = [part for part in parts if part is not None]
    if len(decoded) != len(parts):
        return None
    return np.concatenate([a for a, _ in decoded]), np.concatenate([c for _, c in decoded])


def _pg_slices(
    connection: Any, query: str, ranges: list[tuple[str, str | None]], snapshot: str
) -> list[Pairs | None]:
    """The first slice on the session's connection, the others on their own, in threads (the
    driver waits for PostgreSQL without the GIL), all in the session's exported snapshot."""
    first = partial(_pg_slice, connection.connection.dbapi_connection, query, *ranges[0])
    if len(ranges) == 1:
        return [first()]
    with ThreadPoolExecutor(len(ranges) - 1, thread_name_prefix="withheld-load") as pool:
        others = [
            pool.submit(_pg_slice_in_snapshot, connection.engine, query, snapshot, low, high)
            for low, high in ranges[1:]
        ]
        return [first(), *(future.result() for future in others)]


def _pg_slice(dbapi_connection: Any, query: str, low: str, high: str | None) -> Pairs | None:
    query += " AND ctid >= %s::tid" + (" AND ctid < %s::tid" if high else "")
    cursor = dbapi_connection.cursor(binary=True)
    try:
        cursor.execute(query, (low, high) if high else (low,))
        accounts, countries = cursor.fetchone()
    finally:
        cursor.close()
    if accounts is None:
        return _NO_PAIRS
    return _decoded(np.frombuffer(accounts, dtype=">i8").astype(np.uint64), countries)


def _pg_slice_in_snapshot(
    engine: Any, query: str, snapshot: str, low: str, high: str | None
) -> Pairs | None:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as other:
        other.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        try:
            return _pg_slice(other.connection.dbapi_connection, query, low, high)
        finally:
            other.rollback()


def _aggregated_sqlite(cursor: Any, **names: str) -> Pairs | None:
    """One aggregate over the subject's partial index of active pairs (it holds just the two
    columns); past SQLite's value limit, in chunks of the index in order."""
    try:
        ids, codes = cursor.execute(_SQLITE_ACTIVE_PAIRS.format(**names)).fetchone()
    except sqlite3.DataError:  # "string or blob too big"
        return _sqlite_in_chunks(cursor, _SQLITE_CHUNK_PAIRS.format(**names))
    if ids is None:
        return _NO_PAIRS
    return _decoded(np.fromstring(ids, dtype=np.uint64, sep=","), codes)


def _sqlite_in_chunks(cursor: Any, query: str) -> Pairs | None:
    accounts: list[np.ndarray] = []
    countries: list[np.ndarray] = []
    after: tuple[int, str] = (0, "")
    while True:
        ids, codes = cursor.execute(query, (*after, _SQLITE_CHUNK)).fetchone()
        if ids is None:
            break
        chunk = _decoded(np.fromstring(ids, dtype=np.uint64, sep=","), codes)
        if chunk is None:
            return None
        accounts.append(chunk[0])
        countries.append(chunk[1])
        if len(chunk[0]) < _SQLITE_CHUNK:
            break
        # The chunk is the next _SQLITE_CHUNK pairs in index order, whatever order the
        # aggregate wrote them in: its greatest (id, country) is where the next one starts.
        last = chunk[0].max()
        after = (int(last), chunk[1][chunk[0] == last].max().decode())
    if not accounts:
        return _NO_PAIRS
    return np.concatenate(accounts), np.concatenate(countries)


def _decoded(accounts: np.ndarray, countries: str | bytes) -> Pairs | None:
    """The pairs, or None when the codes are not all 2 ASCII characters (then read row by
    row): one non-ASCII code makes the UTF-8 text longer than two bytes per pair."""
    raw = countries.encode() if isinstance(countries, str) else countries
    if len(raw) != 2 * len(accounts) or not raw.isascii():
        return None
    return accounts, np.frombuffer(raw, dtype="S2")


def _row_by_row(cursor: Any, query: str = ACTIVE_PAIRS_SQL) -> Pairs:
    cursor.execute(query)
    accounts: list[np.ndarray] = []
    countries: list[np.ndarray] = []
    while rows := cursor.fetchmany(_FETCH_CHUNK):
        accounts.append(np.fromiter((row[0] for row in rows), dtype=np.uint64, count=len(rows)))
        countries.append(np.array([row[1] for row in rows], dtype="S2"))
    if not accounts:
        return _NO_PAIRS
    return np.concatenate(accounts), np.concatenate(countries)


_NO_PAIRS: Pairs = (np.empty(0, np.uint64), np.empty(0, "S2"))
