"""Throw-away databases for the tests: SQLite files and PostgreSQL databases on the test server.

PostgreSQL comes from ``WITHHELD_TEST_PG_URL`` (default: postgres@127.0.0.1:5432, trust auth).
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from psycopg import sql

PG_ADMIN_URL = os.environ.get(
    "WITHHELD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# The parameters of every test that runs on each backend (``database_url`` and its kin).
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_unreachable_reason() -> str | None:
    """Why the test server cannot be reached, or None when it can."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {str(error).strip().splitlines()[0]}"


class PgDatabases:
    """Creates throw-away databases on the test server and drops them all at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self) -> str:
        name = f"withheld_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def fresh_database_url(request: pytest.FixtureRequest, factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database of the kind ``request.param`` names (one of ``BACKENDS``), for a
    fixture of any scope; PostgreSQL ones come from the ``pg_databases`` fixture."""
    if request.param == "sqlite":
        return f"sqlite:///{factory.mktemp('sqlite') / 'withheld.db'}"
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    return databases.create()
