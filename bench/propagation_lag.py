"""Propagation lag: how long after a write acknowledged by one process does another answer it?

Starts two server processes on one database (SQLite file and/or a throw-away PostgreSQL database),
writes N times through the first (alternately withhold and lift), and polls the second every
millisecond until it answers the new truth. Prints median, p90 and max per database.

    .venv/bin/python -m bench.propagation_lag --writes 50 [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from tests.support.servers import running

TOKEN = secrets.token_urlsafe(24)  # this run only
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def measure(database_url: str, writes: int) -> list[float]:
    lags: list[float] = []
    env = {"WITHHELD_ADMIN_TOKENS": f"bench:{TOKEN}"}
    with running(database_url, count=2, env=env) as (writer, reader), httpx.Client() as http:
        for n in range(writes):
            account = 1_000_000 + n // 2
            path = f"{writer.url}/accounts/{account}/withholdings/IN"
            if n % 2 == 0:
                response = http.put(path, headers=AUTH, json={"reason": "lag"})
                expected_visible = False
            else:
                response = http.delete(path, headers=AUTH)
                expected_visible = True
            acknowledged = time.perf_counter()
            assert response.status_code in (201, 204), response.text
            while True:
                answer = http.get(
                    f"{reader.url}/visible", params={"account": account, "country": "IN"}
                ).json()
                if answer["visible"] is expected_visible:
                    break
                time.sleep(0.001)
            lags.append(time.perf_counter() - acknowledged)
            time.sleep(0.05)  # spread writes over the poll cycle
    return lags


def summarize(name: str, lags: list[float]) -> dict[str, float | str | int]:
    ordered = sorted(lags)
    return {
        "database": name,
        "writes": len(lags),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            rows.append(summarize("sqlite", measure(f"sqlite:///{folder}/lag.db", args.writes)))
    if args.backend in ("postgres", "both"):
        name = f"withheld_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
            rows.append(summarize("postgres", measure(url, args.writes)))
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    print(f"{'database':<10} {'writes':>6} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}")
    for row in rows:
        print(
            f"{row['database']:<10} {row['writes']:>6} {row['median_ms']:>10} "
            f"{row['p90_ms']:>8} {row['max_ms']:>8}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
