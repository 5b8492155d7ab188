"""The locust mix (``bench/locustfile.py``) runs against a live server without a single failure.

A smoke test, not a timing assertion: 10 users for 5 s, every kind of request checked by the
locustfile itself; locust's ``--exit-code-on-error`` turns any failure into a non-zero exit.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import ROOT, running

TOKEN = "locust-smoke-token-0123456789"


@pytest.mark.slow
def test_locust_mix_runs_against_a_live_server_without_failures(
    database_url: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "locust"
    with running(database_url, env={"WITHHELD_ADMIN_TOKENS": f"alice:{TOKEN}"}) as (server,):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "-u",
                "10",
                "-r",
                "10",
                "-t",
                "5s",
                "-H",
                server.url,
                "--only-summary",
                "--exit-code-on-error",
                "1",
                "--csv",
                str(prefix),
            ],
            cwd=ROOT,
            env={**os.environ, "WITHHELD_TOKEN": TOKEN},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, output

    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        stats = list(csv.DictReader(handle))
    total = next(row for row in stats if row["Name"] == "Aggregated")
    assert int(total["Request Count"]) > 0, output
    assert int(total["Failure Count"]) == 0, output
    kinds = {row["Type"] for row in stats if int(row["Request Count"]) > 0}
    assert {"GET", "POST"} <= kinds, output  # lookups and batches both ran
