"""Migrations run the same on both databases, reversibly, from the command line or at start."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic import command
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import ROOT, alembic_config, current_revision, head_revision, upgrade_to_head

TABLES = {"withholding", "changelog", "changelog_head", "index_snapshot", "alembic_version"}


def _as_users_write_it(database_url: str) -> str:
    """PostgreSQL URLs in the short form many platforms hand out."""
    return database_url.replace("postgresql://", "postgres://", 1)


def test_alembic_upgrade_head_from_the_repo_root_migrates_an_empty_database(
    database_url: str,
) -> None:
    env = {**os.environ, "WITHHELD_DATABASE_URL": _as_users_write_it(database_url)}
    alembic = [sys.executable, "-m", "alembic"]
    subprocess.run(
        [*alembic, "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_every_migration_reverses_and_reapplies(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision()
        upgrade_to_head(engine)  # a second run is a no-op
    finally:
        engine.dispose()
