"""`withheld import` / `withheld export`: spreadsheet rules in and out, atomically."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.db_state import active_pairs
from tests.support.servers import ROOT


def _cli(
    database_url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WITHHELD_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


GOOD = (
    "\ufeffaccount,country,reason,order_ref,expires_at\n"
    "1356948273645182976,in,MeitY order,MEITY/69A/1,\n"
    "12,XX,rule violation,,2031-01-01T00:00:00Z\n"
    "\n"
    "13,de,NetzDG,,\n"
    "13,DE,NetzDG again,,\n"
)


def test_import_writes_every_line_and_export_reads_them_back(
    database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "rules.csv"
    source.write_text(GOOD, encoding="utf-8")
    result = _cli(database_url, "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "3 created" in result.stderr
    assert "1 duplicate" in result.stderr
    assert active_pairs(database_url) == {(1356948273645182976, "IN"), (12, "XX"), (13, "DE")}
    exported = _cli(database_url, "export")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert lines[0] == "account,country,reason,order_ref,expires_at,created_at"
    assert lines[1].startswith("12,XX,rule violation,,2031-01-01T00:00:00+00:00,")
    assert lines[2].startswith("13,DE,NetzDG again,,,")
    assert lines[3].startswith("1356948273645182976,IN,MeitY order,MEITY/69A/1,,")
    # The export is itself importable: a second import changes nothing.
    again = _cli(
        database_url,
        "import",
        "-",
        stdin=exported.stdout.replace(",created_at", "").replace("\n", "\n"),
    )
    assert again.returncode != 0 or "0 created" in again.stderr


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("abc,IN,reason,,", "account"),
        ("5,ZZ,reason,,", "country"),
        ("5,IN,,,", "reason"),
        ("5,IN,reason,,2001-01-01T00:00:00Z", "expires_at"),
        ("5,IN,reason,,tomorrow", "expires_at"),
        ("5,IN,reason,ref,2031-01-01T00:00:00Z,extra", "row"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_written(
    database_url: str, tmp_path: Path, line: str, field: str
) -> None:
    assert _cli(database_url, "migrate").returncode == 0
    source = tmp_path / "rules.csv"
    source.write_text("account,country,reason\n1,IN,fine\n2,US,fine\n" + line + "\n")
    result = _cli(database_url, "import", str(source))
    assert result.returncode == 2
    assert f"line 4: {field}" in result.stderr
    assert "nothing imported" in result.stderr
    assert active_pairs(database_url) == set()


def test_a_default_reason_fills_rows_without_one(database_url: str) -> None:
    result = _cli(database_url, "import", "-", "--reason", "court order 7", stdin="5,IN\n6,US\n")
    assert result.returncode == 0, result.stderr
    assert active_pairs(database_url) == {(5, "IN"), (6, "US")}
