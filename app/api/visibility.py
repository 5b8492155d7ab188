"""Lookups. ``GET /visible`` is normally answered by ``app.hotpath``; this route is its documented
twin and handles what the fast path passes on (errors, ``min_revision`` waits)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from app.api.deps import RuntimeDep
from app.hotpath import render_batch, render_visibility
from app.runtime import Runtime
from app.schemas import (
    AccountId,
    BatchVisibilityRead,
    BatchVisibilityRequest,
    ErrorResponse,
    ViewerCountry,
    VisibilityRead,
)

router = APIRouter(tags=["visibility"])

MinRevision = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**63 - 1,
        description="Answer only once this process reflects at least this changelog revision "
        "(from a write's X-Withheld-Revision); waits at most 1 s, else 503.",
    ),
]
STALE = {
    "model": ErrorResponse,
    "description": "The process could not reach `min_revision` within 1 s; retry.",
}
REVISION_HEADER = {
    "X-Withheld-Revision": {
        "description": "Changelog revision this answer reflects.",
        "schema": {"type": "integer"},
    }
}


async def _require_revision(runtime: Runtime, min_revision: int | None) -> None:
    if min_revision is not None and not await runtime.follower.ensure_revision(min_revision):
        raise HTTPException(
            503,
            detail=f"min_revision: this process reflects revision {runtime.replica.revision}, "
            f"not yet {min_revision}",
            headers={"Retry-After": "1"},
        )


@router.get(
    "/visible",
    response_model=VisibilityRead,
    summary="May this account be shown to a viewer in this country?",
    responses={
        200: {"headers": REVISION_HEADER},
        422: {"model": ErrorResponse, "description": "Invalid account or country."},
        503: STALE,
    },
)
async def get_visibility(
    runtime: RuntimeDep,
    account: Annotated[AccountId, Query(description="Account id (decimal string).")],
    country: Annotated[ViewerCountry, Query(description="Viewer's country (ISO 3166-1 alpha-2).")],
    min_revision: MinRevision = None,
) -> Response:
    """Answered from memory, never from the database: `visible` is false when the account is
    withheld in `country` or in all countries (`XX`)."""
    await _require_revision(runtime, min_revision)
    visible = not runtime.replica.index.is_withheld(account, country)
    return Response(
        render_visibility(str(account), country, visible), media_type="application/json"
    )


@router.post(
    "/visible",
    response_model=BatchVisibilityRead,
    summary="Visibility of up to 10,000 accounts in one country",
    responses={
        200: {"headers": REVISION_HEADER},
        400: {"model": ErrorResponse, "description": "Malformed body (not JSON, not UTF-8)."},
        413: {"model": ErrorResponse, "description": "Request body too large."},
        422: {"model": ErrorResponse, "description": "Invalid country or account list."},
        503: STALE,
    },
)
async def get_visibility_batch(
    runtime: RuntimeDep, body: BatchVisibilityRequest, min_revision: MinRevision = None
) -> Response:
    """Results in request order, duplicates kept, from memory only."""
    await _require_revision(runtime, min_revision)
    ids = np.fromiter(body.accounts, dtype=np.uint64, count=len(body.accounts))
    withheld = runtime.replica.index.withheld_many(ids, body.country)
    accounts = [str(account) for account in body.accounts]
    return Response(
        render_batch(body.country, accounts, withheld.tolist()), media_type="application/json"
    )
