"""What every lookup route (accounts and posts, hashtags) shares: the read-your-writes wait and
how an explanation shows a rule's order."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query

from app.models import LegalOrder
from app.runtime import Runtime
from app.schemas.common import ErrorResponse
from app.schemas.orders import OrderRead
from app.schemas.visibility import SealedOrder
from app.services.disclosure import Sealed

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


async def require_revision(runtime: Runtime, min_revision: int | None) -> None:
    """Wait (bounded) until this process reflects ``min_revision``, else 503."""
    if min_revision is not None and not await runtime.follower.ensure_revision(min_revision):
        raise HTTPException(
            503,
            detail=f"min_revision: this process reflects revision {runtime.replica.revision}, "
            f"not yet {min_revision}",
            headers={"Retry-After": "1"},
        )


def order_view(order: LegalOrder | Sealed | None) -> OrderRead | SealedOrder | None:
    """An explained rule's order as the disclosure policy lets it be shown."""
    if order is None:
        return None
    if isinstance(order, Sealed):
        return SealedOrder(sealed=True)
    return OrderRead.model_validate(order)
