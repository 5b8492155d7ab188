"""Many rows into one table through the database driver, inside the caller's transaction.

ORM/Core executemany with RETURNING costs an order of magnitude more per row than ``COPY`` on
PostgreSQL or one driver ``executemany`` on SQLite, and a bulk of 100,000 rules must take
seconds, not minutes (``docs/performance.md``). Values are converted the way the
table's column types would (aware datetimes become SQLite's naive-UTC text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import FromClause
from sqlalchemy.orm import Session


def insert_rows(
    session: Session, table: FromClause, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    session.flush()  # rows these refer to must be written first
    connection = session.connection()
    dialect = connection.dialect
    names = ", ".join(columns)
    name = getattr(table, "name", None)
    assert isinstance(name, str), "a table"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # The dialect's own processors, as SQLAlchemy's compiled statements use them: a
        # TypeDecorator's ``bind_processor`` alone left datetimes to sqlite3's adapter, which
        # formats them differently (no ".000000") and took a seventh of a 100k bulk's time.
        converters: list[Callable[[Any], Any] | None] = [
            table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns
        ]
        if any(converters):
            rows = _converted(rows, converters)
        marks = ", ".join("?" for _ in columns)
        cursor.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", rows)  # noqa: S608
    finally:
        cursor.close()


def _converted(
    rows: Sequence[Sequence[Any]], converters: Sequence[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    """``rows`` with each column converted, column by column: bulk rows repeat their values
    (one ``now`` for all), so each distinct value is converted once, and the rest is lookups
    in C (``map``, ``zip``)."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for i, convert in enumerate(converters):
        if convert is not None:
            done = {value: convert(value) for value in set(columns[i]) if value is not None}
            columns[i] = list(map(done.get, columns[i]))  # None stays None
    return list(zip(*columns, strict=True))
