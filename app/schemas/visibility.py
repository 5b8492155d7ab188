"""Lookups, single and batch, and the explanation behind an answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from app.limits import MAX_BATCH
from app.schemas.common import (
    ACCOUNT_EXAMPLE,
    AccountId,
    AccountOut,
    CountryCode,
    IdOut,
    ReadModel,
    RequestModel,
    ViewerCountry,
)
from app.schemas.orders import OrderRead


class VisibilityRead(ReadModel):
    account: AccountOut
    country: CountryCode
    visible: bool
    at: datetime | None = Field(
        default=None, description="Only with `at`: the past instant this answer is for."
    )
    explanation: Explanation | None = Field(
        default=None, description="Only with `explain=true`: the rules behind the answer."
    )


class BatchVisibilityRequest(RequestModel):
    country: ViewerCountry
    accounts: list[AccountId] = Field(min_length=1, max_length=MAX_BATCH)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"country": "IN", "accounts": [ACCOUNT_EXAMPLE, "12"]}]}
    )


class AccountVisibility(ReadModel):
    account: AccountOut
    visible: bool


class BatchVisibilityRead(ReadModel):
    country: CountryCode
    results: list[AccountVisibility]


class SealedOrder(BaseModel):
    sealed: Literal[True] = Field(description="The order is sealed: nothing more is shown.")


class ExplainedRule(BaseModel):
    id: IdOut
    country: CountryCode
    reason: str
    order_ref: str | None
    created_at: datetime
    expires_at: datetime | None
    order: OrderRead | SealedOrder | None = Field(
        description='The legal order behind the rule; `{"sealed": true}` for a sealed one.'
    )


class Explanation(BaseModel):
    rules: list[ExplainedRule] = Field(
        description="Rules withholding the account in that country or everywhere (XX)."
    )
    message: str = Field(
        examples=["This account has been withheld in India in response to a legal demand."]
    )


VisibilityRead.model_rebuild()
