"""The change feed: every visibility change in commit order, resumable from any revision."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import RuntimeDep
from app.api.error_responses import READ_ERRORS
from app.api.transactions import read
from app.domain import ChangeOp
from app.limits import MAX_CHANGES_PAGE
from app.models import ChangelogEntry
from app.schemas.changes import ChangePage, ChangeRead, HashtagChangeOp, HashtagChangeRead
from app.schemas.common import Cursor
from app.services import changes as service

router = APIRouter(tags=["changes"])


def _change_read(entry: ChangelogEntry) -> ChangeRead | HashtagChangeRead:
    if entry.hashtag is None:
        return ChangeRead.model_validate(entry)
    # The changelog stores a restriction as `withhold`; the feed says what it means.
    op = HashtagChangeOp.RESTRICT if entry.op == ChangeOp.WITHHOLD else HashtagChangeOp.LIFT
    return HashtagChangeRead(
        revision=entry.revision, op=op, hashtag=entry.hashtag, country=entry.country, at=entry.at
    )


@router.get(
    "/changes",
    response_model=ChangePage,
    response_model_exclude_none=True,
    summary="Visibility changes after a cursor, in commit order",
    responses=READ_ERRORS,
)
async def list_changes(
    runtime: RuntimeDep,
    after: Annotated[
        Cursor | None,
        Query(description="Resume cursor: `next` of the previous page (omit or 0 to start)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGES_PAGE, description="Page size.")] = 1000,
) -> ChangePage:
    """Each change is a `withhold` or a `lift` (expiries included) of one (account, country),
    or a `restrict` or a `lift` of one (hashtag, country), numbered by `revision`: strictly
    increasing, without gaps, in commit order. Applying the
    changes in order reproduces every account's `withheld_in_countries`. The changelog is never
    pruned, so a cursor never expires; when nothing is new, `next` is the cursor given."""
    page = await read(runtime, partial(service.list_changes, after=after or 0, limit=limit))
    return ChangePage(
        changes=[_change_read(change) for change in page.changes],
        next=str(page.next_cursor),
    )
