"""The public change feed: the changelog itself, read from any revision onwards.

The changelog is never pruned, so a cursor (a revision) never expires; revisions are gap-free and
in commit order, so a consumer applying the feed in order reproduces every account's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.models import ChangelogEntry
from app.repositories import changelog


@dataclass(frozen=True, slots=True)
class ChangeListing:
    changes: list[ChangelogEntry]
    next_cursor: int


def list_changes(session: Session, *, after: int, limit: int) -> ChangeListing:
    changes = changelog.list_feed(session, after, limit=limit)
    return ChangeListing(changes=changes, next_cursor=changes[-1].revision if changes else after)
