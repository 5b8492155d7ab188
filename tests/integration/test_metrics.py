"""/metrics: Prometheus text, correct totals under --workers 2, gauges of the index and sync."""

from __future__ import annotations

import pytest

from tests.support.metrics import assert_two_worker_totals, default_folder, send_traffic
from tests.support.servers import running
from tests.support.tokens import SERVER_TOKENS_ENV

pytestmark = pytest.mark.slow


def test_counters_add_up_across_two_workers(database_url: str) -> None:
    with running(database_url, workers=[2], env=SERVER_TOKENS_ENV) as (server,):
        traffic = send_traffic(server.url, default_folder(server.process.pid))
        assert_two_worker_totals(server.url, traffic)
