"""Rules: withhold, lift, list, bulk. Writes go through ``transactions.write`` (one committed
transaction, applied here before the answer); what a reader sees of orders, ``disclosure``."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from operator import attrgetter
from typing import Annotated, Final

from fastapi import APIRouter, Body, Path, Query, Response, status
from sqlalchemy.orm import Session

from app.api.deps import AdminDep, RuntimeDep
from app.api.error_responses import AUTHOR_CONFLICT, ERRORS
from app.api.rule_inputs import NO_LIFT_DETAILS, CountryPath, terms_of
from app.api.sliced_bodies import sliced_post
from app.api.transactions import read, write, write_heavy
from app.domain import LiftCause, RuleNotFoundError, Subject
from app.process import in_thread
from app.schemas.common import AccountId, ErrorResponse
from app.schemas.rules import (
    AccountWithholdings,
    BulkWithholdRead,
    BulkWithholdRequest,
    LiftRequest,
    RuleRead,
    RuleWrite,
)
from app.services import withholdings as service
from app.services.disclosure import DisclosedRule
from app.services.withholdings import RuleTerms
from app.write_process import pickled_from, unpickled

router = APIRouter(tags=["withholdings"])

AccountPath = Annotated[AccountId, Path(description="Account id (decimal string).")]


def _disclosed(item: DisclosedRule) -> RuleRead:
    return RuleRead.model_validate(item.rule).model_copy(update={"order_id": item.order_id})


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
    work = partial(
        service.withhold,
        account=account,
        country=country,
        terms=terms_of(body),
        actor=actor,
        now=datetime.now(UTC),
    )
    outcome = await write(runtime, work, response)
    response.status_code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
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
    body: Annotated[LiftRequest, Body()] = NO_LIFT_DETAILS,
) -> Response:
    """The reason (default `other`) and the optional note are kept in the rule's history
    (`lift_reason`, `lift_note`) and in the audit log."""
    work = partial(
        service.lift,
        account=account,
        country=country,
        reason=LiftCause(body.reason.value),
        actor=actor,
        now=datetime.now(UTC),
        note=body.note,
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    # A rule found past its expiry is expired (and that committed) even though the answer is 404.
    outcome = await write(runtime, work, response)
    if outcome.rule is None:
        raise RuleNotFoundError((Subject.ACCOUNT, account, country))
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
    found = await read(
        runtime,
        partial(
            service.rules_of,
            subject=Subject.ACCOUNT,
            subject_id=account,
            include_lifted=include_lifted,
        ),
    )
    return AccountWithholdings(
        account=account,
        withheld_in_countries=found.withheld_in_countries,
        rules=[_disclosed(item) for item in found.rules],
    )


@sliced_post(
    router,
    "/withholdings/bulk",
    response_model=BulkWithholdRead,
    summary="Withhold up to 100,000 (account, country) pairs, all or nothing",
    responses={
        200: {"model": BulkWithholdRead, "description": "Nothing new: all were active."},
        201: {"model": BulkWithholdRead, "description": "At least one rule created."},
        **AUTHOR_CONFLICT,
        **ERRORS,
    },
)
async def withhold_in_bulk(
    runtime: RuntimeDep,
    actor: AdminDep,
    body: BulkWithholdRequest,
    response: Response,
) -> BulkWithholdRead:
    # ``body`` is validated (in slices, on the loop): the write process gets its items as they
    # are, pickled in slices in a worker thread, rather than the bytes to parse and validate
    # again.
    work = partial(
        _bulk_withhold,
        items=await in_thread(partial(_pickled_items, body)),
        terms=terms_of(body),
        actor=actor,
        now=datetime.now(UTC),
    )
    outcome = await write_heavy(runtime, work, response)
    response.status_code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
    return BulkWithholdRead(
        created=outcome.created,
        already_active=outcome.already_active,
        duplicates=outcome.duplicates,
        revision=outcome.result.revision,
    )


_ITEM_FIELDS: Final = attrgetter("account", "country", "post")


def _pickled_items(body: BulkWithholdRequest) -> list[bytes]:
    """The items for the write process, as (account, country, post); the body's are freed."""
    return pickled_from(body.items, _ITEM_FIELDS)


def _bulk_withhold(
    session: Session, *, items: list[bytes], terms: RuleTerms, actor: str, now: datetime
) -> service.BulkOutcome:
    """The bulk's unit of work, from its validated items (``write_process.pickled``)."""
    return service.bulk_withhold(
        session,
        items=unpickled(items),
        terms=terms,
        actor=actor,
        now=now,
    )
