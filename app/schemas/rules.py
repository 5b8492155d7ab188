"""Withholding rules: write, lift, read, bulk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from app import domain
from app.limits import MAX_BULK
from app.schemas.common import (
    ACCOUNT_EXAMPLE,
    AccountId,
    AccountOut,
    CountryCode,
    IdOut,
    Note,
    OrderRef,
    PostId,
    ReadModel,
    Reason,
    RequestModel,
    Rfc3339,
    RuleCountry,
    in_future,
)


class RuleTermsWrite(RequestModel):
    reason: Reason
    order_ref: OrderRef | None = None
    expires_at: Rfc3339 | None = Field(
        default=None, description="RFC 3339 instant with an offset; must be in the future."
    )

    _check_future = field_validator("expires_at")(in_future)


class RuleWrite(RuleTermsWrite):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "MeitY blocking order under IT Act s.69A",
                    "order_ref": "MEITY/69A/2021/0042",
                    "expires_at": "2027-01-31T00:00:00Z",
                }
            ]
        }
    )


class LiftReason(StrEnum):
    """Why a person lifts a rule. ``expired`` is not among them: only expiry records it."""

    ORDER_REVOKED = domain.LiftCause.ORDER_REVOKED.value
    REVIEW = domain.LiftCause.REVIEW.value
    COURT_RULING = domain.LiftCause.COURT_RULING.value
    OTHER = domain.LiftCause.OTHER.value


class LiftRequest(RequestModel):
    reason: LiftReason = LiftReason.OTHER
    note: Note | None = None


class RuleRead(ReadModel):
    id: Annotated[
        int,
        PlainSerializer(str, return_type=str),
        WithJsonSchema({"type": "string", "pattern": r"^[0-9]+$", "examples": ["42"]}),
    ]
    account: AccountOut = Field(validation_alias="account_id")
    country: CountryCode
    reason: str
    order_ref: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    lifted_at: datetime | None
    lift_reason: str | None
    lift_note: str | None = Field(default=None, description="The note given when lifting.")
    order_id: IdOut | None = Field(
        default=None,
        description="The legal order this rule was created for (null when none, or when the "
        "order is sealed).",
        examples=["7"],
    )


class AccountWithholdings(BaseModel):
    account: AccountOut
    withheld_in_countries: list[CountryCode]
    rules: list[RuleRead]


class BulkItem(RequestModel):
    account: AccountId = Field(description="The account, or with `post` the post's author.")
    country: RuleCountry
    post: PostId | None = Field(
        default=None, description="Withhold only this post (by `account`), not the account."
    )


class BulkWithholdRequest(RuleTermsWrite):
    items: list[BulkItem] = Field(min_length=1, max_length=MAX_BULK)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "MeitY blocking order under IT Act s.69A",
                    "order_ref": "MEITY/69A/2021/0042",
                    "items": [
                        {"account": ACCOUNT_EXAMPLE, "country": "IN"},
                        {"account": "12", "country": "XX"},
                    ],
                }
            ]
        }
    )


class BulkWithholdRead(BaseModel):
    created: int = Field(description="Rules newly created.")
    already_active: int = Field(description="Pairs already withheld; their terms were updated.")
    duplicates: int = Field(description="Items repeating an earlier item of the same request.")
    revision: int = Field(description="Changelog revision that reflects this write.")
