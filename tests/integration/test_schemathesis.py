"""Schemathesis, every check, against a live server: the API does what its document says."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.servers import ROOT, running
from tests.support.tokens import ADMIN_TOKEN

pytestmark = pytest.mark.slow

MIN_CASES = 1000


def test_schemathesis_finds_nothing_in_over_a_thousand_generated_cases(database_url: str) -> None:
    env = {"WITHHELD_ADMIN_TOKENS": f"alice:{ADMIN_TOKEN}"}
    with running(database_url, env=env) as (server,):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "60",
                "--seed",
                "20261128",
                "-H",
                f"Authorization: Bearer {ADMIN_TOKEN}",
                "--no-color",
            ],
            cwd=ROOT,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", output)
    assert summary is not None, output[-3000:]
    generated, passed = map(int, summary.groups())
    assert generated >= MIN_CASES, output[-3000:]
    assert passed == generated, output[-3000:]
