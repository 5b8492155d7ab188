"""Legal orders and the decisions taken on them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app import identifiers
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


def _hashtag(raw: object) -> str:
    # Here, not from schemas.hashtags (which imports this module): the same parse and error.
    try:
        return identifiers.parse_hashtag(raw)
    except ValueError:
        raise PydanticCustomError("hashtag_invalid", identifiers.HASHTAG_ERROR) from None


_HASHTAG_ACTIONS = frozenset(
    {DecisionAction.RESTRICT, DecisionAction.RESTRICT_GLOBAL, DecisionAction.DECLINE}
)
_ACCOUNT_ACTIONS = frozenset(
    {DecisionAction.WITHHOLD, DecisionAction.WITHHOLD_GLOBAL, DecisionAction.DECLINE}
)


class DecisionItem(RequestModel):
    account: AccountId | None = Field(
        default=None,
        description="The account, or with `post` the post's author (or give `hashtag`).",
    )
    post: PostId | None = Field(
        default=None,
        description="The decision is about this post (by `account`), not the whole account.",
    )
    hashtag: (
        Annotated[
            str,
            BeforeValidator(_hashtag),
            WithJsonSchema(
                {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": identifiers.HASHTAG_MAX_RAW_LENGTH,
                    "description": "A hashtag (with or without `#`; normalised) instead of an "
                    "account: `restrict`, `restrict_global` or `decline`.",
                    "examples": ["FarmersProtest"],
                }
            ),
        ]
        | None
    ) = None
    action: DecisionAction = Field(
        description="`withhold`: in the order's country; `withhold_global`: in every country "
        "(XX), e.g. a suspension; `decline`: nothing done, `category` says why. For a "
        "`hashtag`: `restrict` (the order's country), `restrict_global` (XX) or `decline`."
    )
    category: DeclineCategory | None = Field(
        default=None,
        description="Required for `decline`; optional otherwise (what kind of account it is).",
    )
    note: Note | None = None

    _check_category = field_validator("category", mode="after")(_decline_needs_category)

    @model_validator(mode="after")
    def _one_subject(self) -> DecisionItem:
        """An account (perhaps with a post) or a hashtag, each with its own actions."""
        if (self.account is None) == (self.hashtag is None):
            raise PydanticCustomError(
                "subject_invalid", "account or hashtag: exactly one of them is required"
            )
        if self.hashtag is not None:
            if self.post is not None:
                raise PydanticCustomError("subject_invalid", "post: not with a hashtag")
            if self.action not in _HASHTAG_ACTIONS:
                raise PydanticCustomError(
                    "action_invalid",
                    "action: a hashtag is restricted (restrict, restrict_global) or declined",
                )
        elif self.action not in _ACCOUNT_ACTIONS:
            raise PydanticCustomError(
                "action_invalid",
                "action: an account is withheld (withhold, withhold_global) or declined",
            )
        return self

    model_config = ConfigDict(
        validate_default=True,
        json_schema_extra={
            "if": {"properties": {"action": {"const": "decline"}}, "required": ["action"]},
            "then": {"required": ["category"], "properties": {"category": {"type": "string"}}},
            # An account (a string; hashtag absent or null) or a hashtag (a string; account
            # and post absent or null), each with its own actions.
            "oneOf": [
                {
                    "required": ["account"],
                    "properties": {
                        "account": {"type": "string"},
                        "hashtag": {"type": "null"},
                        "action": {"enum": ["withhold", "withhold_global", "decline"]},
                    },
                },
                {
                    "required": ["hashtag"],
                    "properties": {
                        "hashtag": {"type": "string"},
                        "account": {"type": "null"},
                        "post": {"type": "null"},
                        "action": {"enum": ["restrict", "restrict_global", "decline"]},
                    },
                },
            ],
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
        description="Withhold (and restrict) decisions whose rule was already active (kept as "
        "it was)."
    )
    restricted: int | None = Field(
        default=None,
        description="Only when the request names hashtags: hashtag restrictions newly created "
        "in the order's country.",
    )
    restricted_global: int | None = Field(
        default=None,
        description="Only when the request names hashtags: hashtag restrictions newly created "
        "for all countries (XX).",
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
