"""Schemathesis hooks: keep generated requests inside what the schema cannot say.

- ``min_revision`` ahead of the server is *meant* to answer 503 (documented, with Retry-After):
  a process that cannot reach it within 1 s says so. Valid generated values are clamped to 0 so
  "no server errors" keeps its meaning for everything else; the 503 path has its own tests.
- ``expires_at`` must lie in the future, which JSON Schema cannot express; a past instant gets a
  422 (see test_bad_inputs). Valid generated instants in the past are moved a year ahead.
- An order's ``received_at`` and the ``at`` of ``GET /visible`` must not lie in the future (422,
  see test_orders and test_explain_asof); valid generated future instants are moved a year back.
- A hashtag is valid only after NFKC and case folding, which no pattern can say, so the schema
  gives only its length; a generated string of that length that is not a hashtag (422, see
  test_hashtags) becomes a valid one, in paths, queries and bodies alike.
Only values the schema calls valid are touched, so negative cases stay negative.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

from app.identifiers import HASHTAG_MAX_RAW_LENGTH, normalize_hashtag
from app.schemas.common import _RFC3339

VALID_HASHTAG = "FarmersProtest"


def _future() -> str:
    return (datetime.now(UTC) + timedelta(days=365)).isoformat()


def _past() -> str:
    return (datetime.now(UTC) - timedelta(days=365)).isoformat()


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def _is_past_instant(value: object) -> bool:
    instant = _instant(value)
    return instant is not None and instant <= datetime.now(UTC) + timedelta(seconds=5)


def _is_future_instant(value: object) -> bool:
    instant = _instant(value)
    return instant is not None and instant > datetime.now(UTC) - timedelta(seconds=5)


# What the server parses as a whole number: "12", and also "12.0" (the stateful phase sends it).
_WHOLE = re.compile(r"[0-9]+(\.0*)?")


def _clamped_revision(revision: object) -> object:
    """A revision the server would wait for, as 0; repeated parameters (a list) item by item."""
    if isinstance(revision, list):
        return [_clamped_revision(item) for item in revision]
    if isinstance(revision, int | float) and not isinstance(revision, bool) and revision > 0:
        return 0
    if isinstance(revision, str) and _WHOLE.fullmatch(revision) and float(revision) > 0:
        return "0"
    return revision


def _hashtag(value: object) -> object:
    """A schema-valid string that is not a hashtag, as a valid one; anything else as it is."""
    if (
        isinstance(value, str)
        and 1 <= len(value) <= HASHTAG_MAX_RAW_LENGTH
        and normalize_hashtag(value) is None
    ):
        return VALID_HASHTAG
    return value


def _hashtags_in(body: object) -> None:
    if not isinstance(body, dict):
        return
    tags = body.get("hashtags")
    if isinstance(tags, list):
        body["hashtags"] = [_hashtag(tag) for tag in tags]
    decisions = body.get("decisions")
    if isinstance(decisions, list):
        for decision in decisions:
            if isinstance(decision, dict) and "hashtag" in decision:
                decision["hashtag"] = _hashtag(decision["hashtag"])


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    path = case.path_parameters
    if isinstance(path, dict) and "hashtag" in path:
        path["hashtag"] = _hashtag(path["hashtag"])
    query = case.query
    if isinstance(query, dict) and "hashtag" in query:
        query["hashtag"] = _hashtag(query["hashtag"])
    _hashtags_in(case.body)
    if isinstance(query, dict):
        if "min_revision" in query:
            query["min_revision"] = _clamped_revision(query["min_revision"])
        if _is_future_instant(query.get("at")):
            query["at"] = _past()
    body = case.body
    if isinstance(body, dict) and _is_past_instant(body.get("expires_at")):
        body["expires_at"] = _future()
    if isinstance(body, dict) and _is_future_instant(body.get("received_at")):
        body["received_at"] = _past()
    return case
