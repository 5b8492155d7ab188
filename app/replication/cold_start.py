"""The state a process starts from: the index and the revision it reflects.

From the newest index snapshot plus the changelog after it when that is short; otherwise from the
active rules themselves (``repositories.active_pairs``), in one consistent database snapshot.
"""

from __future__ import annotations

import logging

from app.db import Database
from app.domain import Subject
from app.index import HashtagIndex, VisibilityIndex
from app.replication.indexes import Indexes
from app.repositories import active_pairs, changelog, hashtags, snapshots

log = logging.getLogger("withheld.sync")

# Beyond this many revisions behind, loading the current rules beats replaying the changelog.
RELOAD_AFTER = 200_000


def load_state(db: Database) -> tuple[Indexes, int]:
    """The indexes and the revision they reflect, read in one consistent database snapshot.

    From the newest index snapshot plus the changelog after it when that is short; otherwise
    from the active rules themselves.
    """
    with db.reading(snapshot=True) as session:
        head = changelog.read_head(session)
        stored = snapshots.latest(session)
        if stored is not None and 0 <= head - stored[0] <= RELOAD_AFTER:
            revision, data = stored
            try:
                indexes = Indexes.from_bytes(data)
            except ValueError:
                log.warning("index snapshot at revision %d unreadable: loading the rules", revision)
            else:
                del data, stored
                changes = changelog.list_after(session, revision, limit=head - revision)
                reached, complete = indexes.apply(changes, after=revision)
                if complete and reached == head:
                    return indexes, head
                log.warning("changelog after snapshot %d has gaps: loading the rules", revision)
        built = {
            subject: VisibilityIndex.from_arrays(*active_pairs.load_active_pairs(session, subject))
            for subject in (Subject.ACCOUNT, Subject.POST)
        }
        restricted = HashtagIndex.from_pairs(hashtags.list_all_active(session))
    indexes = Indexes(
        accounts=built[Subject.ACCOUNT], posts=built[Subject.POST], hashtags=restricted
    )
    return indexes, head
