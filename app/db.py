"""Engines and sessions for SQLite (the default) and PostgreSQL, and the write-transaction rule.

Every write transaction starts by locking the single ``changelog_head`` row (see
``repositories.changes.lock_head``). That serialises writers on both databases, so changelog
revisions are assigned in commit order and a follower reading ``revision > cursor`` can never skip
a row that commits late (an identity column would be assigned at insert, not at commit).

SQLite needs more: the driver's implicit transactions are disabled so that write transactions can
open with ``BEGIN IMMEDIATE`` (take the write lock up front instead of failing "database is
locked" on upgrade), while readers keep a plain deferred ``BEGIN``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import DateTime, Dialect, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "withheld_write"


# The database could not be reached or locked: the API answers 503. Bulk inserts go through the
# driver itself (repositories/_bulk.py), so its own errors arrive unwrapped by SQLAlchemy.
UNAVAILABLE_ERRORS: Final = (
    OperationalError,
    DBAPIError,
    PoolTimeoutError,
    sqlite3.OperationalError,
    psycopg.OperationalError,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out on both databases (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalize_url(raw: str) -> URL:
    """Accept URLs as users write them and pick the driver we ship (psycopg 3)."""
    url = make_url(raw)
    if url.drivername in {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+asyncpg"}:
        url = url.set(drivername="postgresql+psycopg")
    elif url.drivername in {"sqlite+pysqlite", "sqlite+aiosqlite"}:
        url = url.set(drivername="sqlite")
    return url


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def make_engine(raw_url: str, *, timeout_s: float = 2.0, **kwargs: Any) -> Engine:
    url = normalize_url(raw_url)
    if is_sqlite(url):
        return _make_sqlite_engine(url, timeout_s=timeout_s, **kwargs)
    connect_args = {
        "connect_timeout": max(1, round(timeout_s)),
        "application_name": "withheld",
        # A lock held by a stuck writer must not hang a request forever.
        "options": f"-c lock_timeout={int(timeout_s * 5000)}",
    }
    return create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout_s * 5,
        **kwargs,
    )


def _make_sqlite_engine(url: URL, *, timeout_s: float, **kwargs: Any) -> Engine:
    database = url.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    busy_ms = int(max(timeout_s, 5.0) * 1000)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: we emit BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


class Database:
    """The process's handle on the store: one engine, a reader and a writer session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url
        self.is_sqlite = is_sqlite(engine.url)
        self._read = sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
        )

    @classmethod
    def from_url(cls, raw_url: str, *, timeout_s: float = 2.0) -> Database:
        return cls(make_engine(raw_url, timeout_s=timeout_s))

    @contextmanager
    def reading(self, *, snapshot: bool = False) -> Iterator[Session]:
        """A read-only unit of work; closing it rolls the transaction back.

        ``snapshot=True`` makes every statement see one consistent state (PostgreSQL
        REPEATABLE READ; a SQLite read transaction in WAL mode is a snapshot already). Objects
        loaded stay readable after the block (closing detaches them without expiring them).
        """
        with self._read() as session:
            if snapshot and not self.is_sqlite:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write unit of work: commits on success, rolls back on any error."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def writing_once(self) -> Iterator[Session]:
        """``writing``, on a connection closed afterwards instead of pooled: SQLite's driver
        keeps the values last bound to each statement it caches, and an index snapshot's would
        stay resident for as long as a pooled connection lives."""
        with self.engine.connect() as connection:
            bound = connection.execution_options(**{WRITE_OPTION: True})
            with self._write(bind=bound) as session, session.begin():
                yield session
            connection.invalidate()

    def describe(self) -> str:
        """Where the data lives, without credentials (safe to log)."""
        return self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def default_sqlite_dir() -> Path:
    return Path(os.getcwd()) / "data"
