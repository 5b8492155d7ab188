"""Lookups. ``GET /visible`` is normally answered by ``app.edge.fast_path``; this route is its
twin and handles what the fast path passes on (errors, ``min_revision`` waits, ``explain`` and
``at``). Only ``explain`` and ``at`` read the database; a plain lookup answers from memory."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import RuntimeDep
from app.api.lookups import STALE, MinRevision, order_view, require_revision
from app.api.responses import JsonResponse
from app.api.transactions import read
from app.domain import Subject, post_scope
from app.edge.bodies import (
    render_batch,
    render_post_batch,
    render_post_visibility,
    render_visibility,
)
from app.runtime import Runtime
from app.schemas.common import AccountId, ErrorResponse, PastInstant, PostId, ViewerCountry
from app.schemas.visibility import (
    BatchPostVisibilityRead,
    BatchVisibilityRead,
    BatchVisibilityRequest,
    ExplainedRule,
    Explanation,
    VisibilityRead,
)
from app.services import visibility as service

router = APIRouter(tags=["visibility"])

REVISION_HEADER = {
    "X-Withheld-Revision": {
        "description": "Changelog revision this answer reflects.",
        "schema": {"type": "integer"},
    }
}


def _explanation(country: str, visible: bool, rules: list[service.RuleWithOrder]) -> Explanation:
    return Explanation(
        rules=[
            ExplainedRule(
                id=item.rule.id,
                country=item.rule.country,
                reason=item.rule.reason,
                order_ref=item.rule.order_ref,
                created_at=item.rule.created_at,
                expires_at=item.rule.expires_at,
                order=order_view(item.order),
            )
            for item in rules
        ],
        message=service.viewer_message(country, visible=visible, rules=rules),
    )


def _scope_now(runtime: Runtime, account: int, post: int, country: str) -> Subject | None:
    """What hides ``post`` in ``country`` now, from memory."""
    replica = runtime.replica
    return post_scope(
        author_withheld=replica.index.is_withheld(account, country),
        post_withheld=replica.posts.is_withheld(post, country),
    )


async def _from_database(
    runtime: Runtime,
    account: int,
    country: str,
    *,
    post: int | None,
    explain: bool,
    at: datetime | None,
) -> Response:
    if at is None:
        work = partial(service.active_rules, account=account, country=country, post=post)
    else:
        work = partial(service.rules_at, account=account, country=country, at=at, post=post)
    rules = await read(runtime, work)
    scope: Subject | None
    if at is not None:  # in the past: the history
        scope = post_scope(
            author_withheld=any(item.rule.post_id is None for item in rules),
            post_withheld=any(item.rule.post_id is not None for item in rules),
        )
    elif post is not None:  # now: the in-memory answer, exactly as a plain lookup gives it
        scope = _scope_now(runtime, account, post, country)
    else:
        scope = Subject.ACCOUNT if runtime.replica.index.is_withheld(account, country) else None
    visible = scope is None
    answer = VisibilityRead(
        account=account,
        post=post,
        country=country,
        visible=visible,
        scope=scope.value if scope is not None and post is not None else None,
        at=at,
        explanation=_explanation(country, visible, rules) if explain else None,
    )
    optional = ("post", "scope", "at", "explanation")
    left_out = {name for name in optional if getattr(answer, name) is None}
    return JsonResponse(answer.model_dump(mode="json", exclude=left_out))


@router.get(
    "/visible",
    response_model=VisibilityRead,
    summary="May this account (or this post of it) be shown to a viewer in this country?",
    responses={
        200: {"headers": REVISION_HEADER},
        422: {"model": ErrorResponse, "description": "Invalid account, country or `at`."},
        503: {
            "model": ErrorResponse,
            "description": "The process could not reach `min_revision` within 1 s (retry); or, "
            "with `explain` or `at`, the database is unavailable.",
        },
    },
)
async def get_visibility(
    runtime: RuntimeDep,
    account: Annotated[
        AccountId, Query(description="Account id (decimal string); with `post`, its author.")
    ],
    country: Annotated[ViewerCountry, Query(description="Viewer's country (ISO 3166-1 alpha-2).")],
    post: Annotated[
        PostId | None,
        Query(description="A post of `account`: may this post be shown there?"),
    ] = None,
    min_revision: MinRevision = None,
    explain: Annotated[
        bool,
        Query(
            description="Also return the rules behind the answer, their legal orders (a sealed "
            'one only as `{"sealed": true}`) and the viewer-facing message. Reads the database.'
        ),
    ] = False,
    at: Annotated[
        PastInstant | None,
        Query(
            description="Answer for this past RFC 3339 instant, from the rules' history (lifts "
            "and expiries honoured). Reads the database; not in the future (a minute of clock skew "
            "is tolerated).",
            examples=["2021-02-02T00:00:00Z"],
        ),
    ] = None,
) -> Response:
    """Answered from memory, never from the database: `visible` is false when the account is
    withheld in `country` or in all countries (`XX`). With `explain=true` the answer is the same
    (from memory) and `explanation` says why; with `at` the answer is for that instant, from the
    database. With `post`, the answer is about that post: hidden when its author is withheld
    there (`scope: "account"`, which wins) or the post itself is (`scope: "post"`); `scope` is
    present only when `visible` is false."""
    await require_revision(runtime, min_revision)
    if explain or at is not None:
        return await _from_database(runtime, account, country, post=post, explain=explain, at=at)
    if post is not None:
        scope = _scope_now(runtime, account, post, country)
        body = render_post_visibility(
            str(account), str(post), country, scope.value if scope is not None else None
        )
        return Response(body, media_type="application/json")
    visible = not runtime.replica.index.is_withheld(account, country)
    return Response(
        render_visibility(str(account), country, visible), media_type="application/json"
    )


@router.post(
    "/visible",
    response_model=BatchVisibilityRead | BatchPostVisibilityRead,
    summary="Visibility of up to 10,000 accounts (or posts) in one country",
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
    """Results in request order, duplicates kept, from memory only. With `posts`, each result
    is about that post, as `GET /visible?account=&post=` answers it."""
    await require_revision(runtime, min_revision)
    index = runtime.replica.index
    if body.posts is not None:
        posts = np.fromiter((item.post for item in body.posts), np.uint64, len(body.posts))
        authors = np.fromiter((item.account for item in body.posts), np.uint64, len(body.posts))
        rendered = render_post_batch(
            body.country,
            [str(item.post) for item in body.posts],
            [str(item.account) for item in body.posts],
            index.withheld_many(authors, body.country),
            runtime.replica.posts.withheld_many(posts, body.country),
        )
        return Response(rendered, media_type="application/json")
    assert body.accounts is not None  # the model requires exactly one of the two
    ids = np.fromiter(body.accounts, dtype=np.uint64, count=len(body.accounts))
    withheld = index.withheld_many(ids, body.country)
    accounts = [str(account) for account in body.accounts]
    return Response(render_batch(body.country, accounts, withheld), media_type="application/json")
