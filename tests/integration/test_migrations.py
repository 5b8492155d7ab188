"""Migrations run the same on both databases, reversibly, from the command line or at start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect, text

from app.db import Base, make_engine
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


def _indexes(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        )
        return {str(name): re.sub(r"\s+", " ", str(sql)) for name, sql in rows}


def test_the_migrations_build_the_indexes_the_models_declare(tmp_path: Path) -> None:
    # Alembic's autogenerate does not compare a partial index's WHERE; SQLite keeps each index's
    # CREATE statement, so both schemas are compared as SQLite would build them.
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    declared = make_engine(f"sqlite:///{tmp_path / 'declared.db'}")
    try:
        upgrade_to_head(migrated)
        Base.metadata.create_all(declared)
        assert _indexes(migrated) == _indexes(declared)
        assert "WHERE post_id IS NOT NULL" in _indexes(migrated)["ix_decision_post_id"]
    finally:
        migrated.dispose()
        declared.dispose()
