"""Legal orders and the decisions taken on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.domain import DecisionAction, DeclineCategory
from app.limits import MAX_DECISIONS
from app.schemas.common import (
    ACCOUNT_EXAMPLE,
    AccountId,
    Authority,
    CountryCode,
    DocumentUrl,
    IdOut,
    LegalBasis,
    Note,
    OrderRef,
    PastInstant,
    PostId,
    ReadModel,
    RequestModel,
    StrictBoolean,
    ViewerCountry,
)

ORDER_EXAMPLE: dict[str, Any] = {
    "country": "IN",
    "authority": "MeitY",
    "legal_basis": "IT Act s.69A",
    "reference": "MEITY/69A/2021/0042",
    "received_at": "2021-02-01T09:30:00Z",
    "document_url": "https://lumendatabase.org/notices/12345",
    "sealed": False,
}


class OrderCreate(RequestModel):
    country: ViewerCountry = Field(description="The country whose authority issued the order.")
    authority: Authority
    legal_basis: LegalBasis
    reference: OrderRef = Field(description="The authority's own reference for the order.")
    received_at: PastInstant = Field(
        description="RFC 3339 instant with an offset, not in the future (a minute of clock "
        "skew is tolerated)."
    )
    document_url: DocumentUrl | None = None
    sealed: StrictBoolean = Field(
        default=False,
        description="A sealed order is never named publicly: it only counts in the "
        "transparency report.",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [ORDER_EXAMPLE]})


class OrderRead(ReadModel):
    id: IdOut
    country: CountryCode
    authority: str
    legal_basis: str
    reference: str
    received_at: datetime
    document_url: str | None
    sealed: bool
    created_at: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "7", **ORDER_EXAMPLE, "created_at": "2021-02-01T10:02:11Z"}]
        }
    )


class OrderPage(BaseModel):
    orders: list[OrderRead]
    next: str | None = Field(
        description="Cursor for the next page (pass as `cursor`); null on the last page.",
        examples=["7"],
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "orders": [{"id": "7", **ORDER_EXAMPLE, "created_at": "2021-02-01T10:02:11Z"}],
                    "next": None,
                }
            ]
        }
    )


def _decline_needs_category(
    category: DeclineCategory | None, info: ValidationInfo
) -> DeclineCategory | None:
    if category is None and info.data.get("action") is DecisionAction.DECLINE:
        raise PydanticCustomError("category_required", "is required when action is decline")
    return category


class DecisionItem(RequestModel):
    account: AccountId = Field(description="The account, or with `post` the post's author.")
    post: PostId | None = Field(
        default=None,
        description="The decision is about this post (by `account`), not the whole account.",
    )
    action: DecisionAction = Field(
        description="`withhold`: in the order's country; `withhold_global`: in every country "
        "(XX), e.g. a suspension; `decline`: nothing done, `category` says why."
    )
    category: DeclineCategory | None = Field(
        default=None,
        description="Required for `decline`; optional otherwise (what kind of account it is).",
    )
    note: Note | None = None

    _check_category = field_validator("category", mode="after")(_decline_needs_category)

    model_config = ConfigDict(
        validate_default=True,
        json_schema_extra={
            "if": {"properties": {"action": {"const": "decline"}}, "required": ["action"]},
            "then": {"required": ["category"], "properties": {"category": {"type": "string"}}},
        },
    )


class DecisionsRequest(RequestModel):
    decisions: list[DecisionItem] = Field(min_length=1, max_length=MAX_DECISIONS)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        {"account": ACCOUNT_EXAMPLE, "action": "withhold"},
                        {"account": "12", "action": "withhold_global", "note": "spam network"},
                        {"account": "13", "action": "decline", "category": "journalist"},
                    ]
                }
            ]
        }
    )


class DecisionsRead(BaseModel):
    order_id: IdOut
    withheld: int = Field(description="Rules newly created in the order's country.")
    withheld_global: int = Field(description="Rules newly created for all countries (XX).")
    declined: int = Field(description="Decline decisions recorded.")
    already_active: int = Field(
        description="Withhold decisions whose rule was already active (kept as it was)."
    )
    revision: int = Field(description="Changelog revision that reflects this write.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "7",
                    "withheld": 150,
                    "withheld_global": 30,
                    "declined": 70,
                    "already_active": 0,
                    "revision": 180,
                }
            ]
        }
    )
