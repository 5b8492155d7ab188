"""A first-time user's path: `withheld serve` on the SQLite default prints a token that writes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import cli_env, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_serve_on_the_default_sqlite_prints_a_token_that_can_write(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stderr is not None
        token = None
        deadline = time.monotonic() + 30
        while token is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            found = re.search(r"WITHHELD_TOKEN=(\S+)", line)
            token = found.group(1) if found else None
        assert token, "serve did not print a token"
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(
            ready,
            timeout=max(0.0, deadline - time.monotonic()),
            interval=0.1,
            message="serve did not become ready within 30 s",
        )
        written = httpx.put(
            f"{base}/accounts/12/withholdings/IN",
            json={"reason": "try it"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert written.status_code == 201
        assert httpx.get(f"{base}/visible?account=12&country=IN").json()["visible"] is False
        refused = httpx.put(
            f"{base}/accounts/12/withholdings/IN",
            json={"reason": "x"},
            headers={"Authorization": "Bearer not-the-token-at-all"},
        )
        assert refused.status_code == 401
        assert (tmp_path / "data" / "withheld.db").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()
