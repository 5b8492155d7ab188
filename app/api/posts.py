"""Post rules: withhold one post in a country, lift it, read its rules. The same rule machinery
as accounts (``services.withholdings``); a post has one author, named on every write."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.api.deps import AdminDep, RuntimeDep
from app.api.error_responses import AUTHOR_CONFLICT, ERRORS
from app.api.rule_inputs import NO_LIFT_DETAILS, CountryPath, terms_of
from app.api.transactions import read, write
from app.domain import LiftCause, RuleNotFoundError, Subject
from app.schemas.common import ErrorResponse, PostId
from app.schemas.posts import PostRuleRead, PostRuleWrite, PostWithholdings
from app.schemas.rules import LiftRequest
from app.services import withholdings as service

router = APIRouter(tags=["posts"])

PostPath = Annotated[PostId, Path(description="Post id (decimal string).")]


@router.put(
    "/posts/{post}/withholdings/{country}",
    response_model=PostRuleRead,
    status_code=status.HTTP_201_CREATED,
    summary="Withhold one post in a country (idempotent)",
    responses={
        200: {"model": PostRuleRead, "description": "Already active; terms updated."},
        **AUTHOR_CONFLICT,
        **ERRORS,
    },
)
async def withhold_post(
    runtime: RuntimeDep,
    actor: AdminDep,
    post: PostPath,
    country: CountryPath,
    body: PostRuleWrite,
    response: Response,
) -> PostRuleRead:
    """Only this post is hidden (Twitter's `withheld.scope` "tweet"); its author's other posts
    stay visible unless the account itself is withheld."""
    work = partial(
        service.withhold,
        account=body.account,
        country=country,
        post=post,
        terms=terms_of(body),
        actor=actor,
        now=datetime.now(UTC),
    )
    outcome = await write(runtime, work, response)
    response.status_code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
    return PostRuleRead.model_validate(outcome.rule)


@router.delete(
    "/posts/{post}/withholdings/{country}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Lift a post's active withholding (kept in history, never deleted)",
    responses={404: {"model": ErrorResponse, "description": "No active rule."}, **ERRORS},
)
async def lift_post_withholding(
    runtime: RuntimeDep,
    actor: AdminDep,
    post: PostPath,
    country: CountryPath,
    body: Annotated[LiftRequest, Body()] = NO_LIFT_DETAILS,
) -> Response:
    """The reason (default `other`) and the optional note are kept in the rule's history and in
    the audit log."""
    work = partial(
        service.lift,
        post=post,
        country=country,
        reason=LiftCause(body.reason.value),
        actor=actor,
        now=datetime.now(UTC),
        note=body.note,
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    outcome = await write(runtime, work, response)
    if outcome.rule is None:
        raise RuleNotFoundError((Subject.POST, post, country))
    return response


@router.get(
    "/posts/{post}/withholdings",
    response_model=PostWithholdings,
    summary="A post's withholdings and its author",
    responses={422: ERRORS[422], 503: ERRORS[503]},
)
async def list_post_withholdings(
    runtime: RuntimeDep,
    post: PostPath,
    include_lifted: Annotated[bool, Query(description="Also return lifted rules.")] = False,
) -> PostWithholdings:
    """`withheld_in_countries` lists where the post itself is withheld (not its author)."""
    found = await read(
        runtime,
        partial(
            service.rules_of, subject=Subject.POST, subject_id=post, include_lifted=include_lifted
        ),
    )
    return PostWithholdings(
        post=post,
        account=found.account,
        withheld_in_countries=found.withheld_in_countries,
        rules=[
            PostRuleRead.model_validate(item.rule).model_copy(update={"order_id": item.order_id})
            for item in found.rules
        ],
    )
