"""Schemathesis hooks: keep generated requests inside what the schema cannot say.

- ``min_revision`` ahead of the server is *meant* to answer 503 (documented, with Retry-After):
  a process that cannot reach it within 1 s says so. Valid generated values are clamped to 0 so
  "no server errors" keeps its meaning for everything else; the 503 path has its own tests.
- ``expires_at`` must lie in the future, which JSON Schema cannot express; a past instant gets a
  422 (see test_bad_inputs). Valid generated instants in the past are moved a year ahead.
Only values the schema calls valid are touched, so negative cases stay negative.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

from app.schemas import _RFC3339


def _future() -> str:
    return (datetime.now(UTC) + timedelta(days=365)).isoformat()


def _is_past_instant(value: object) -> bool:
    if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
        return False
    try:
        instant = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return instant.tzinfo is not None and instant <= datetime.now(UTC) + timedelta(seconds=5)


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    query = case.query
    if isinstance(query, dict):
        revision = query.get("min_revision")
        if isinstance(revision, int) and not isinstance(revision, bool) and revision > 0:
            query["min_revision"] = 0
        elif isinstance(revision, str) and revision.isdigit() and int(revision) > 0:
            query["min_revision"] = "0"
    body = case.body
    if isinstance(body, dict) and _is_past_instant(body.get("expires_at")):
        body["expires_at"] = _future()
    return case
