"""The audit log: every write, who made it (the admin token's name) and why. Admins only."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AdminDep, RuntimeDep
from app.api.error_responses import ERRORS
from app.api.responses import JsonResponse
from app.api.transactions import read
from app.domain import AuditAction
from app.limits import MAX_AUDIT_PAGE
from app.schemas.audit import AuditEntryRead, AuditPage
from app.schemas.common import AccountId, ActorName, Cursor, Instant, PostId
from app.schemas.hashtags import Hashtag
from app.services import audit as service

router = APIRouter(tags=["audit"])


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="The audit log, in the order it was written",
    responses={401: ERRORS[401], 422: ERRORS[422], 503: ERRORS[503]},
)
async def list_audit_entries(
    runtime: RuntimeDep,
    _admin: AdminDep,
    account: Annotated[
        AccountId | None,
        Query(description="Entries about this account (its own rules, and its posts')."),
    ] = None,
    post: Annotated[PostId | None, Query(description="Entries about this post.")] = None,
    hashtag: Annotated[
        Hashtag | None, Query(description="Entries about this hashtag (any spelling).")
    ] = None,
    actor: Annotated[
        ActorName | None,
        Query(description="Entries by this admin token name (or `system:expiry`)."),
    ] = None,
    action: Annotated[AuditAction | None, Query(description="Entries of this kind.")] = None,
    since: Annotated[
        Instant | None,
        Query(
            alias="from",
            description="Written at or after this RFC 3339 instant.",
            examples=["2021-02-01T00:00:00Z"],
        ),
    ] = None,
    until: Annotated[
        Instant | None,
        Query(
            alias="to",
            description="Written before this RFC 3339 instant.",
            examples=["2021-03-01T00:00:00Z"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE, description="Page size.")] = 100,
    cursor: Annotated[Cursor | None, Query(description="`next` of the previous page.")] = None,
) -> JsonResponse:
    """Append-only: rules created (`withhold`), their terms replaced (`update`), lifted
    (`lift`, justification = reason and note), expired (`expire`, actor `system:expiry`), orders
    recorded (`order_create`) and decisions (`decision_withhold`, `decision_withhold_global`,
    `decision_decline`, justification = note or category); for hashtags, `restrict`,
    `decision_restrict` and `decision_restrict_global` (then `update`, `lift`, `expire` as for
    rules, the entry naming its `hashtag`). Absent fields are left out. Follow
    `next` until it is null."""

    work = partial(
        service.list_entries,
        account=account,
        post=post,
        hashtag=hashtag,
        actor=actor,
        action=action,
        since=since,
        until=until,
        cursor=cursor or 0,
        limit=limit,
    )
    page = await read(runtime, work)
    return JsonResponse(
        {
            "entries": [
                AuditEntryRead.model_validate(entry).model_dump(mode="json", exclude_none=True)
                for entry in page.entries
            ],
            "next": str(page.next_cursor) if page.next_cursor is not None else None,
        }
    )
