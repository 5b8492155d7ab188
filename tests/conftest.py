"""Shared fixtures: real SQLite files and a real PostgreSQL.

PostgreSQL comes from ``WITHHELD_TEST_PG_URL`` (default: postgres@127.0.0.1:5432, trust auth). Each
test run creates throw-away databases and drops them at the end. Where PostgreSQL is unreachable its
tests skip with the reason — except under ``CI=true``, where that is a failure.

The helpers these fixtures build on live in ``tests/support/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db import Database
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.support.apps import ClientFactory, make_settings
from tests.support.databases import (
    BACKENDS,
    PgDatabases,
    fresh_database_url,
    pg_unreachable_reason,
)


@pytest.fixture(scope="session")
def pg_available() -> None:
    reason = pg_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} — under CI=true PostgreSQL tests must run, not skip")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_databases(pg_available: None) -> Iterator[PgDatabases]:
    databases = PgDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database of each kind (the service migrates it on start)."""
    return fresh_database_url(request, tmp_path_factory)


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


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> str:
    """A fresh PostgreSQL database (for PostgreSQL-only behaviour)."""
    return pg_databases.create()
