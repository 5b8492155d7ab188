"""Fixtures of the HTTP contract tests (``test_*_api.py``), pinned black-box on real SQLite and
PostgreSQL databases.

Every test talks to a started app (lifespan included) through ``TestClient`` and looks only at
status codes, headers and JSON bodies, never at the app's internals.

Tests that write get a fresh database each (``client``). Tests that only read, or whose point is
that nothing gets written, share one seeded database per backend for the module (``shared``):
starting the app migrates its database, which takes a while on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.apps import running_app
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.shared_app import seed_shared


@pytest.fixture(scope="module", params=BACKENDS)
def shared_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shared database of the module, one per backend."""
    return fresh_database_url(request, tmp_path_factory)


@pytest.fixture(scope="module")
def shared(shared_url: str) -> Iterator[TestClient]:
    """An app on the shared database, seeded as ``tests.support.shared_app`` describes."""
    with running_app(shared_url) as client:
        seed_shared(client)
        yield client
