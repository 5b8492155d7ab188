"""Shared fixtures: real SQLite files and a real PostgreSQL.

PostgreSQL comes from ``WITHHELD_TEST_PG_URL`` (default: postgres@127.0.0.1:5432, trust auth). Each
test run creates throw-away databases and drops them at the end. Where PostgreSQL is unreachable its
tests skip with the reason — except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrate import upgrade_to_head

PG_ADMIN_URL = os.environ.get(
    "WITHHELD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADMIN_TOKEN = "test-admin-token-0123456789"
OTHER_TOKEN = "test-other-token-9876543210"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _pg_unreachable_reason() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {str(error).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_available() -> None:
    reason = _pg_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} — under CI=true PostgreSQL tests must run, not skip")
    pytest.skip(reason)


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


@pytest.fixture(scope="session")
def pg_databases(pg_available: None) -> Iterator[PgDatabases]:
    databases = PgDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database of each kind (the service migrates it on start)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'withheld.db'}"
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    return databases.create()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test's database, migrated, for direct reads and writes (no service in front)."""
    database = Database.from_url(database_url)
    upgrade_to_head(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "admin_tokens": f"alice:{ADMIN_TOKEN},bob:{OTHER_TOKEN}",
        "poll_interval_s": 0.05,
        "expiry_interval_s": 0.2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(database_url: str) -> Iterator[ClientFactory]:
    """Start the app (lifespan included) on ``database_url``; several may share it."""
    clients: list[TestClient] = []

    def factory(**overrides: object) -> TestClient:
        client = TestClient(
            create_app(make_settings(database_url, **overrides)), raise_server_exceptions=False
        )
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> str:
    """A fresh PostgreSQL database (for PostgreSQL-only behaviour)."""
    return pg_databases.create()
