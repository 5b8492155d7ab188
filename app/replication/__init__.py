"""Replication: this process's copy of the truth, and what keeps it in step with the database.

``Replica`` holds the index and the revision it reflects; ``ChangelogFollower`` (``follower``)
polls, listens, expires and snapshots; ``cold_start`` loads the state a process starts from;
``quick_reads`` are the polls cheap enough for the event loop. Nothing here knows HTTP:
``tests/unit/test_boundaries.py`` holds this package to it.
"""
