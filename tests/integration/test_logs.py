"""Logs: one JSON object per line on request (from every process of `withheld serve`), never a
token, and a useful start-up message."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.support.servers import cli_env, cli_serving, running, wait_cli_ready
from tests.support.tokens import ADMIN_TOKEN

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
    # Read once the server has stopped: then nothing it logs about these requests is still to come.
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


# What each server's main process says on its own (it never imports the app).
MAIN_PROCESS_SAYS = {"uvicorn": "Started parent process", "granian": "Starting granian"}


@pytest.mark.parametrize("server", sorted(MAIN_PROCESS_SAYS))
def test_withheld_serve_with_json_logs_writes_json_from_every_process(
    server: str, database_url: str, tmp_path: Path
) -> None:
    env = cli_env(
        WITHHELD_DATABASE_URL=database_url,
        WITHHELD_ADMIN_TOKENS=f"alice:{ADMIN_TOKEN}",
        WITHHELD_LOG_FORMAT="json",
    )
    options = ("--server", server, "--workers", "2")
    with cli_serving(*options, env=env, cwd=tmp_path) as (process, base, log):
        wait_cli_ready(process, base, log)
        assert httpx.get(f"{base}/visible?account=12&country=IN").status_code == 200
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses
    assert all({"at", "level", "logger", "message"} <= entry.keys() for entry in entries)
    messages = [entry["message"] for entry in entries]
    assert any(MAIN_PROCESS_SAYS[server] in message for message in messages), messages
    assert sum(message.startswith("database:") for message in messages) == 2  # both workers
