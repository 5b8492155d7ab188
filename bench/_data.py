"""Data for the suite: the workload of ``bench.bench_index``, request bodies, direct database loads.

Rules come from ``bench.bench_index.make_workload`` (random snowflake ids, 8 countries + ``XX``,
distinct pairs), so the in-process figures and the HTTP figures describe the same kind of data.
Loading straight into a database writes exactly what the service would have written: one
``withholding`` row and one ``changelog`` row per pair, and ``changelog_head`` at the last revision,
on a schema made by the service's own migrations.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path

import numpy as np
import orjson
import psycopg
from psycopg import sql

from app.db import make_engine
from app.migrate import upgrade_to_head
from bench.bench_index import U64, Workload

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REASON = "bench: synthetic withholding"
ACTOR = "bench"
_COPY_CHUNK = 500_000


def lookup_paths(work: Workload) -> list[tuple[str, bool]]:
    """``GET /visible`` paths, alternately a withheld pair and a visible one, with the answer."""
    paths: list[tuple[str, bool]] = []
    for (hit_account, hit_country), (miss_account, miss_country) in zip(
        work.hits, work.misses, strict=False
    ):
        paths.append((f"/visible?account={hit_account}&country={hit_country}", False))
        paths.append((f"/visible?account={miss_account}&country={miss_country}", True))
    return paths


def bulk_bodies(accounts: U64, countries: np.ndarray, per_request: int) -> list[bytes]:
    """``POST /withholdings/bulk`` bodies of ``per_request`` items each, serialised up front."""
    bodies: list[bytes] = []
    for start in range(0, len(accounts), per_request):
        chunk_accounts = accounts[start : start + per_request].astype(str).tolist()
        chunk_countries = countries[start : start + per_request].astype(str).tolist()
        items = [
            {"account": account, "country": country}
            for account, country in zip(chunk_accounts, chunk_countries, strict=True)
        ]
        bodies.append(
            orjson.dumps({"reason": REASON, "order_ref": f"BENCH/{start}", "items": items})
        )
    return bodies


def batch_body(work: Workload, country: str) -> bytes:
    """``POST /visible`` with the workload's 10,000 ids (half withheld in ``country``)."""
    return orjson.dumps({"country": country, "accounts": work.batch.astype(str).tolist()})


# -- straight into the database ---------------------------------------------------------------


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()


def author_of(posts: U64) -> U64:
    """A post's author, derived from the post id (deterministic; the bench's authors are not
    withheld themselves, except by the odd collision with a withheld account)."""
    return (posts >> np.uint64(3)) | np.uint64(1)


def post_lookup_paths(work: Workload) -> list[tuple[str, bool]]:
    """``GET /visible?account=&post=&country=`` paths over a post workload (its ``accounts`` are
    post ids), alternately a withheld post and a visible one, with the answer."""
    paths: list[tuple[str, bool]] = []
    for (hit, hit_country), (miss, miss_country) in zip(work.hits, work.misses, strict=False):
        for post, country, visible in ((hit, hit_country, False), (miss, miss_country, True)):
            author = int(author_of(np.array([post], dtype=np.uint64))[0])
            paths.append((f"/visible?account={author}&post={post}&country={country}", visible))
    return paths


def post_batch_body(work: Workload, country: str) -> bytes:
    """``POST /visible`` with the post workload's 10,000 posts and their authors."""
    posts = work.batch.astype(str).tolist()
    authors = author_of(work.batch).astype(str).tolist()
    items = [{"post": p, "account": a} for p, a in zip(posts, authors, strict=True)]
    return orjson.dumps({"country": country, "posts": items})


def load_sqlite(
    database: Path,
    accounts: U64,
    countries: np.ndarray,
    posts: tuple[U64, np.ndarray] | None = None,
) -> None:
    """Migrate a new SQLite file, then insert the rules (``posts``: post ids and countries of
    post rules besides, authored by :func:`author_of`), their changelog and the head."""
    _migrate(f"sqlite:///{database}")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        # Building the secondary indexes once at the end beats maintaining them per row.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('withholding', 'changelog')"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO withholding (id, account_id, country, reason, created_at, updated_at,"
            " created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            zip(
                range(1, len(accounts) + 1),
                accounts.astype(np.int64).tolist(),
                countries.astype(str).tolist(),
                repeat(REASON),
                repeat(now),
                repeat(now),
                repeat(ACTOR),
                strict=False,
            ),
        )
        total = len(accounts)
        if posts is not None:
            post_ids, post_countries = posts
            conn.executemany(
                "INSERT INTO withholding (id, account_id, post_id, country, reason, created_at,"
                " updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                zip(
                    range(total + 1, total + len(post_ids) + 1),
                    author_of(post_ids).astype(np.int64).tolist(),
                    post_ids.astype(np.int64).tolist(),
                    post_countries.astype(str).tolist(),
                    repeat(REASON),
                    repeat(now),
                    repeat(now),
                    repeat(ACTOR),
                    strict=False,
                ),
            )
            total += len(post_ids)
        conn.execute(
            "INSERT INTO changelog (revision, op, account_id, country, at, rule_id, post_id)"
            " SELECT id, 'withhold', account_id, country, created_at, id, post_id FROM withholding"
        )
        conn.execute("UPDATE changelog_head SET revision = ? WHERE id = 1", (total,))
        conn.execute("COMMIT")
        for _, statement in indexes:
            conn.execute(statement)
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def load_postgres(url: str, accounts: U64, countries: np.ndarray) -> None:
    """Migrate an empty PostgreSQL database, then COPY the rules and derive the changelog."""
    _migrate(url)
    now = datetime.now(UTC).isoformat()
    constant = f"\t{REASON}\t\\N\t{now}\t{now}\t\\N\t\\N\t\\N\t{ACTOR}\t\\N\n"
    with psycopg.connect(url) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        # Our rows are consistent by construction; skip the per-row foreign-key triggers.
        conn.execute("SET session_replication_role = replica")
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename IN ('withholding', 'changelog')"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        columns = (
            "id, account_id, country, reason, order_ref, created_at, updated_at, expires_at,"
            " lifted_at, lift_reason, created_by, lifted_by"
        )
        with conn.cursor().copy(f"COPY withholding ({columns}) FROM STDIN") as copy:
            for start in range(0, len(accounts), _COPY_CHUNK):
                ids = range(start + 1, start + 1 + len(accounts[start : start + _COPY_CHUNK]))
                copy.write(
                    "".join(
                        f"{rule_id}\t{account}\t{country}{constant}"
                        for rule_id, account, country in zip(
                            ids,
                            accounts[start : start + _COPY_CHUNK].tolist(),
                            countries[start : start + _COPY_CHUNK].astype(str).tolist(),
                            strict=True,
                        )
                    )
                )
        conn.execute(
            "INSERT INTO changelog (revision, op, account_id, country, at, rule_id)"
            " SELECT id, 'withhold', account_id, country, created_at, id FROM withholding"
        )
        conn.execute("UPDATE changelog_head SET revision = %s WHERE id = 1", (len(accounts),))
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('withholding', 'id'), %s)", (len(accounts),)
        )
        for _, statement in indexes:
            conn.execute(statement)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) withholding")
        conn.execute("VACUUM (ANALYZE) changelog")


# -- throw-away PostgreSQL databases ----------------------------------------------------------


def postgres_unavailable(admin_url: str = PG_ADMIN_URL) -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL unreachable at {admin_url}: {str(error).strip().splitlines()[0]}"


def postgres_version(admin_url: str = PG_ADMIN_URL) -> str:
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "unknown"
    except psycopg.Error:
        return "unreachable"


@contextmanager
def throwaway_postgres(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A new empty database, dropped (connections and all) on exit."""
    name = f"withheld_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
