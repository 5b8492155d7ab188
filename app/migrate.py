"""Bring the schema to head before serving, safely when many processes start at once.

PostgreSQL: a session-level advisory lock. SQLite: an exclusive ``flock`` on a file beside the
database (SQLite's own locks do not cover Alembic's read-then-DDL sequence).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from app.db import is_sqlite

ROOT = Path(__file__).resolve().parent.parent
# Any constant works; it only has to be the same for every process of this service.
MIGRATION_LOCK_KEY = 0x57_49_54_48_48_45_4C_44  # "WITHHELD"


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logging"] = False
    return cfg


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    if is_sqlite(engine.url):
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock_path = Path(database + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Migrate under the lock; a no-op when another process got there first."""
    with migration_lock(engine):
        if current_revision(engine) == head_revision():
            return
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


class SchemaNotCurrentError(RuntimeError):
    pass


def require_head(engine: Engine) -> None:
    """With migrate-on-start off: refuse to serve an old schema, saying what to run."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaNotCurrentError(
            f"database schema is at {current or 'nothing'}, this release needs {head}: "
            "run `withheld migrate` (or `alembic upgrade head`) first"
        )
