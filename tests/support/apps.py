"""The app started in-process (lifespan included) behind a ``TestClient``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.support.tokens import ADMIN_TOKENS

# What the ``make_client`` fixture hands out: an app started on the test's database.
ClientFactory = Callable[..., TestClient]


def make_settings(database_url: str, **overrides: object) -> Settings:
    """The tests' settings: both admin tokens, and polls and expiries quick enough to wait for."""
    values: dict[str, object] = {
        "database_url": database_url,
        "admin_tokens": ADMIN_TOKENS,
        "poll_interval_s": 0.05,
        "expiry_interval_s": 0.2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def running_app(database_url: str, **overrides: object) -> Iterator[TestClient]:
    """A started app (lifespan included) on ``database_url``, stopped on exit."""
    app = create_app(make_settings(database_url, **overrides))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
