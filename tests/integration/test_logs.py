"""Logs: one JSON object per line on request, never a token, and a useful start-up message."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.servers import running

pytestmark = pytest.mark.slow


def test_json_logs_are_one_object_per_line_and_never_show_a_token(database_url: str) -> None:
    env = {"WITHHELD_ADMIN_TOKENS": f"alice:{ADMIN_TOKEN}", "WITHHELD_LOG_FORMAT": "json"}
    with running(database_url, env=env) as (server,):
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert (
            httpx.put(
                f"{server.url}/accounts/5/withholdings/IN", headers=auth, json={"reason": "r"}
            ).status_code
            == 201
        )
        assert (
            httpx.put(
                f"{server.url}/accounts/5/withholdings/IN",
                headers={"Authorization": "Bearer wrong-token-0000000000"},
                json={"reason": "r"},
            ).status_code
            == 401
        )
        time.sleep(0.3)
        output = server.output()
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    entries = [json.loads(line) for line in lines]  # every line parses
    assert all({"at", "level", "logger", "message"} <= entry.keys() for entry in entries)
    messages = " ".join(entry["message"] for entry in entries)
    assert "database:" in messages
    assert "/visible?account=" in messages
    assert "alice" in messages  # tokens are named, never shown
    assert ADMIN_TOKEN not in output
    assert "wrong-token-0000000000" not in output
