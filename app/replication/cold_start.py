"""The state a process starts from: the index and the revision it reflects.

From the newest index snapshot plus the changelog after it when that is short; otherwise from the
active rules themselves (``repositories.active_pairs``), in one consistent database snapshot.
"""

from __future__ import annotations

import logging

from app.db import Database
from app.index import VisibilityIndex
from app.replication.replica import apply_changes
from app.repositories import active_pairs, changelog, snapshots

log = logging.getLogger("withheld.sync")

# Beyond this many revisions behind, loading the current rules beats replaying the changelog.
RELOAD_AFTER = 200_000


def load_state(db: Database) -> tuple[VisibilityIndex, int]:
    """The index and the revision it reflects, read in one consistent database snapshot.

    From the newest index snapshot plus the changelog after it when that is short; otherwise
    from the active rules themselves.
    """
    with db.reading(snapshot=True) as session:
        head = changelog.read_head(session)
        stored = snapshots.latest(session)
        if stored is not None and 0 <= head - stored[0] <= RELOAD_AFTER:
            revision, data = stored
            try:
                index = VisibilityIndex.from_bytes(data)
            except ValueError:
                log.warning("index snapshot at revision %d unreadable: loading the rules", revision)
            else:
                del data, stored
                changes = changelog.list_after(session, revision, limit=head - revision)
                reached, complete = apply_changes(index, changes, after=revision)
                if complete and reached == head:
                    return index, head
                log.warning("changelog after snapshot %d has gaps: loading the rules", revision)
        accounts, countries = active_pairs.load_active_pairs(session)
    return VisibilityIndex.from_arrays(accounts, countries), head
