"""Everything a request handler may need, built once per process in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth import TokenRegistry
from app.config import Settings
from app.db import Database
from app.edge.metrics import Metrics
from app.replication.follower import ChangelogFollower
from app.replication.replica import Replica
from app.write_process import WriteProcess


@dataclass
class Runtime:
    settings: Settings
    db: Database
    replica: Replica
    follower: ChangelogFollower
    tokens: TokenRegistry
    metrics: Metrics
    writer: WriteProcess  # where heavy writes run
