"""Rules: withhold, lift, list, bulk. Each write is one transaction in a worker thread; once it
commits, this process applies it before answering, so the next request here already sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Body, Path, Query, Response, status

from app.api.deps import AdminDep, RuntimeDep
from app.api.error_responses import ERRORS, stamp
from app.domain import LiftReason, RuleNotFoundError
from app.models import Withholding
from app.schemas.common import AccountId, ErrorResponse, RuleCountry
from app.schemas.rules import (
    AccountWithholdings,
    BulkWithholdRead,
    BulkWithholdRequest,
    LiftRequest,
    RuleRead,
    RuleWrite,
)
from app.services import orders as orders_service
from app.services import withholdings as service
from app.services.withholdings import RuleTerms

router = APIRouter(tags=["withholdings"])

AccountPath = Annotated[AccountId, Path(description="Account id (decimal string).")]
CountryPath = Annotated[RuleCountry, Path(description="Country code, or XX for all countries.")]


# An optional body typed as the model itself (not `| None`): generated clients then simply omit
# it; openapi-python-client cannot serialise an unset `Model | None` body.
_NO_LIFT_DETAILS = LiftRequest()


def _terms(body: RuleWrite | BulkWithholdRequest) -> RuleTerms:
    return RuleTerms(reason=body.reason, order_ref=body.order_ref, expires_at=body.expires_at)


def _public(rule: Withholding, sealed_orders: set[int]) -> RuleRead:
    """A rule as anyone may read it: a sealed order's id is not shown."""
    read = RuleRead.model_validate(rule)
    if rule.order_id is not None and rule.order_id in sealed_orders:
        read.order_id = None
    return read


@router.put(
    "/accounts/{account}/withholdings/{country}",
    response_model=RuleRead,
    status_code=status.HTTP_201_CREATED,
    summary="Withhold an account in a country (idempotent)",
    responses={200: {"model": RuleRead, "description": "Already active; terms updated."}, **ERRORS},
)
async def withhold_account(
    runtime: RuntimeDep,
    actor: AdminDep,
    account: AccountPath,
    country: CountryPath,
    body: RuleWrite,
    response: Response,
) -> RuleRead:
    def work() -> service.WithholdOutcome:
        with runtime.db.writing() as session:
            return service.withhold(
                session,
                account=account,
                country=country,
                terms=_terms(body),
                actor=actor,
                now=datetime.now(UTC),
            )

    outcome = await to_thread.run_sync(work)
    await runtime.follower.absorb(outcome.result)
    response.status_code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
    stamp(response, outcome.result.revision)
    return RuleRead.model_validate(outcome.rule)


@router.delete(
    "/accounts/{account}/withholdings/{country}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Lift an active withholding (kept in history, never deleted)",
    responses={404: {"model": ErrorResponse, "description": "No active rule."}, **ERRORS},
)
async def lift_withholding(
    runtime: RuntimeDep,
    actor: AdminDep,
    account: AccountPath,
    country: CountryPath,
    body: Annotated[LiftRequest, Body()] = _NO_LIFT_DETAILS,
) -> Response:
    """The reason (default `other`) and the optional note are kept in the rule's history
    (`lift_reason`, `lift_note`) and in the audit log."""
    reason, note = LiftReason(body.reason.value), body.note

    def work() -> service.LiftOutcome:
        with runtime.db.writing() as session:
            return service.lift(
                session,
                account=account,
                country=country,
                reason=reason,
                actor=actor,
                now=datetime.now(UTC),
                note=note,
            )

    outcome = await to_thread.run_sync(work)
    await runtime.follower.absorb(outcome.result)
    if outcome.rule is None:
        raise RuleNotFoundError(account, country)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    stamp(response, outcome.result.revision)
    return response


@router.get(
    "/accounts/{account}/withholdings",
    response_model=AccountWithholdings,
    summary="An account's withholdings (withheld_in_countries, as Twitter's API names it)",
    responses={422: ERRORS[422], 503: ERRORS[503]},
)
async def list_withholdings(
    runtime: RuntimeDep,
    account: AccountPath,
    include_lifted: Annotated[bool, Query(description="Also return lifted rules.")] = False,
) -> AccountWithholdings:
    def work() -> AccountWithholdings:
        with runtime.db.reading() as session:
            rules = service.rules_of_account(
                session, account=account, include_lifted=include_lifted
            )
            sealed = orders_service.sealed_among(
                session, {r.order_id for r in rules if r.order_id is not None}
            )
            return AccountWithholdings(
                account=account,
                withheld_in_countries=sorted({r.country for r in rules if r.lifted_at is None}),
                rules=[_public(rule, sealed) for rule in rules],
            )

    return await to_thread.run_sync(work)


@router.post(
    "/withholdings/bulk",
    response_model=BulkWithholdRead,
    summary="Withhold up to 100,000 (account, country) pairs, all or nothing",
    responses={
        200: {"model": BulkWithholdRead, "description": "Nothing new: all were active."},
        201: {"model": BulkWithholdRead, "description": "At least one rule created."},
        **ERRORS,
    },
)
async def withhold_in_bulk(
    runtime: RuntimeDep, actor: AdminDep, body: BulkWithholdRequest, response: Response
) -> BulkWithholdRead:
    items = [(item.account, item.country) for item in body.items]

    def work() -> service.BulkOutcome:
        with runtime.db.writing() as session:
            return service.bulk_withhold(
                session, items=items, terms=_terms(body), actor=actor, now=datetime.now(UTC)
            )

    outcome = await to_thread.run_sync(work)
    await runtime.follower.absorb(outcome.result)
    response.status_code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
    stamp(response, outcome.result.revision)
    return BulkWithholdRead(
        created=outcome.created,
        already_active=outcome.already_active,
        duplicates=outcome.duplicates,
        revision=outcome.result.revision,
    )
