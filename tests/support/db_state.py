"""What the database itself says, read directly (the truth the processes must agree with)."""

from __future__ import annotations

from app.db import Database
from app.repositories.active_pairs import load_active_pairs


def active_pairs(database_url: str) -> set[tuple[int, str]]:
    """Every active (account, country) rule in the database at ``database_url``."""
    db = Database.from_url(database_url)
    try:
        with db.reading() as session:
            accounts, countries = load_active_pairs(session)
    finally:
        db.dispose()
    return {
        (int(a), c.decode()) for a, c in zip(accounts.tolist(), countries.tolist(), strict=True)
    }
