"""Legal orders and the decisions taken on them.

Anyone may read orders, except sealed ones: those only an admin (bearer token) sees. Recording an
order or its decisions needs the token, and every such write is audited under the token's name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.orm import Session

from app.api.deps import OPTIONAL_AUTH, AdminDep, ReaderDep, RuntimeDep
from app.api.error_responses import AUTHOR_CONFLICT, ERRORS, INVALID_TOKEN, READ_ERRORS
from app.api.responses import JsonResponse
from app.api.sliced_bodies import sliced_post
from app.api.transactions import REVISION_HEADER, read, write, write_heavy
from app.limits import MAX_ORDERS_PAGE
from app.process import in_thread
from app.schemas.common import Authority, Cursor, ErrorResponse, Instant, OrderId, ViewerCountry
from app.schemas.orders import (
    DecisionItem,
    DecisionsRead,
    DecisionsRequest,
    OrderCreate,
    OrderPage,
    OrderRead,
)
from app.services import orders as service
from app.write_process import pickled_from, unpickled

router = APIRouter(tags=["orders"])


OrderPath = Annotated[OrderId, Path(alias="id", description="Order id (decimal string).")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorResponse,
        "description": "No such order (a sealed order, too, unless you are an admin).",
    }
}


@router.post(
    "/orders",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a legal order (a demand to restrict content)",
    responses=ERRORS,
)
async def create_order(
    runtime: RuntimeDep, actor: AdminDep, body: OrderCreate, response: Response
) -> OrderRead:
    """The order is the provenance of the rules its decisions create. A `sealed` order is never
    shown publicly (not listed, 404 to readers without a token, `{"sealed": true}` in explain)
    and only counted in the transparency report."""
    draft = service.OrderDraft(
        country=body.country,
        authority=body.authority,
        legal_basis=body.legal_basis,
        reference=body.reference,
        received_at=body.received_at,
        document_url=body.document_url,
        sealed=body.sealed,
    )

    work = partial(service.create_order, draft=draft, actor=actor, now=datetime.now(UTC))
    created = await write(runtime, work, response)
    return OrderRead.model_validate(created.order)


@router.get(
    "/orders",
    response_model=OrderPage,
    summary="List legal orders, oldest recorded first",
    responses={**INVALID_TOKEN, **READ_ERRORS},
    openapi_extra=OPTIONAL_AUTH,
)
async def list_orders(
    runtime: RuntimeDep,
    reader: ReaderDep,
    country: Annotated[ViewerCountry | None, Query(description="Issuing country.")] = None,
    authority: Annotated[
        Authority | None, Query(description="Issuing authority, exactly as recorded.")
    ] = None,
    since: Annotated[
        Instant | None,
        Query(
            alias="from",
            description="Received at or after this RFC 3339 instant.",
            examples=["2021-01-01T00:00:00Z"],
        ),
    ] = None,
    until: Annotated[
        Instant | None,
        Query(
            alias="to",
            description="Received before this RFC 3339 instant.",
            examples=["2021-07-01T00:00:00Z"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ORDERS_PAGE, description="Page size.")] = 100,
    cursor: Annotated[Cursor | None, Query(description="`next` of the previous page.")] = None,
) -> OrderPage:
    """Sealed orders are left out unless the request carries a valid admin bearer token. Pages
    follow `next` until it is null."""

    work = partial(
        service.list_orders,
        country=country,
        authority=authority,
        since=since,
        until=until,
        reader=reader,
        cursor=cursor or 0,
        limit=limit,
    )
    page = await read(runtime, work)
    return OrderPage(
        orders=[OrderRead.model_validate(order) for order in page.orders],
        next=str(page.next_cursor) if page.next_cursor is not None else None,
    )


@router.get(
    "/orders/{id}",
    response_model=OrderRead,
    summary="One legal order",
    responses={**NOT_FOUND, **INVALID_TOKEN, **READ_ERRORS},
    openapi_extra=OPTIONAL_AUTH,
)
async def get_order(runtime: RuntimeDep, reader: ReaderDep, order_id: OrderPath) -> OrderRead:
    """A sealed order is 404 unless the request carries a valid admin bearer token."""

    work = partial(service.get_order, order_id=order_id, reader=reader)
    return OrderRead.model_validate(await read(runtime, work))


@sliced_post(
    router,
    "/orders/{id}/decisions",
    response_model=DecisionsRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record what was done about each account an order names (up to 10,000, all or nothing)",
    responses={**NOT_FOUND, **AUTHOR_CONFLICT, **ERRORS},
)
async def record_decisions(
    runtime: RuntimeDep,
    actor: AdminDep,
    order_id: OrderPath,
    body: DecisionsRequest,
    response: Response,
) -> Response:
    """`withhold` withholds the account in the order's country, `withhold_global` everywhere
    (`XX`, e.g. a suspension); both create a rule whose provenance is this order (an already
    active rule is kept as it is). `decline` records that nothing was done, and why (`category`
    required). A decision may name a `hashtag` instead of an account: `restrict` (the order's
    country), `restrict_global` (`XX`) or `decline`; a hashtag restriction keeps it from
    trending and being suggested there. Any invalid item is a 422 naming its index, and nothing
    is written."""
    # ``body`` is validated (in slices, on the loop): the write process gets the decisions as
    # they are, pickled in slices in a worker thread, rather than the bytes to parse again.
    # Only a request naming hashtags gets their counts: an account-only answer is as it was.
    names_hashtags = any(item.hashtag is not None for item in body.decisions)
    work = partial(
        _record_decisions,
        order_id=order_id,
        decisions=await in_thread(partial(_pickled_drafts, body)),
        actor=actor,
        now=datetime.now(UTC),
    )
    outcome = await write_heavy(runtime, work, response)
    answer = DecisionsRead(
        order_id=outcome.order_id,
        withheld=outcome.withheld,
        withheld_global=outcome.withheld_global,
        declined=outcome.declined,
        already_active=outcome.already_active,
        restricted=outcome.restricted,
        restricted_global=outcome.restricted_global,
        revision=outcome.result.revision,
    )
    left_out = set() if names_hashtags else {"restricted", "restricted_global"}
    return JsonResponse(
        answer.model_dump(mode="json", exclude=left_out),
        status_code=status.HTTP_201_CREATED,
        headers={REVISION_HEADER: response.headers[REVISION_HEADER]},
    )


def _pickled_drafts(body: DecisionsRequest) -> list[bytes]:
    """The decisions for the write process; the body's are freed meanwhile."""
    return pickled_from(body.decisions, _draft)


def _draft(item: DecisionItem) -> service.DecisionDraft:
    return service.DecisionDraft(
        account=item.account,
        action=item.action,
        category=item.category,
        note=item.note,
        post=item.post,
        hashtag=item.hashtag,
    )


def _record_decisions(
    session: Session, *, order_id: int, decisions: list[bytes], actor: str, now: datetime
) -> service.DecisionsOutcome:
    """The decisions' unit of work, from the validated decisions (``write_process.pickled``)."""
    return service.record_decisions(
        session,
        order_id=order_id,
        decisions=unpickled(decisions),
        actor=actor,
        now=now,
    )
