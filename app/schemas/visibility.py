"""Lookups, single and batch, and the explanation behind an answer."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.limits import MAX_BATCH
from app.schemas.common import (
    ACCOUNT_EXAMPLE,
    POST_EXAMPLE,
    AccountId,
    AccountOut,
    CountryCode,
    IdOut,
    PostId,
    PostOut,
    ReadModel,
    RequestModel,
    ViewerCountry,
)
from app.schemas.orders import OrderRead

Scope = Literal["account", "post"]
"""Why a post is hidden: its author is withheld there (``account``, which wins), or only the
post is (``post``): Twitter's ``withheld.scope`` "user" and "tweet"."""


class VisibilityRead(ReadModel):
    account: AccountOut
    post: PostOut | None = Field(default=None, description="Only when a post was asked about.")
    country: CountryCode
    visible: bool
    scope: Scope | None = Field(
        default=None, description="Only for a post that is not visible: what withholds it."
    )
    at: datetime | None = Field(
        default=None, description="Only with `at`: the past instant this answer is for."
    )
    explanation: Explanation | None = Field(
        default=None, description="Only with `explain=true`: the rules behind the answer."
    )


class PostOfAccount(RequestModel):
    post: PostId
    account: AccountId = Field(description="The post's author.")


_ABSENT: Final = object()  # neither list given
_NULL: Final = object()  # "accounts": null


class BatchVisibilityRequest(RequestModel):
    """Either `accounts` or `posts` (with their authors), not both: a body with both, or
    neither, is a 422."""

    country: ViewerCountry
    # Absent, not null: each list may be left out, but `null` is no list (422 naming it).
    accounts: list[AccountId] = Field(default=None, min_length=1, max_length=MAX_BATCH)  # type: ignore[arg-type]
    posts: list[PostOfAccount] = Field(default=None, min_length=1, max_length=MAX_BATCH)  # type: ignore[arg-type]

    model_config = ConfigDict(
        json_schema_extra={
            # `country` and exactly one list, said without schema composition (oneOf/anyOf of
            # `required`), which keeps generators such as schemathesis from any test data.
            "minProperties": 2,
            "maxProperties": 2,
            "examples": [
                {"country": "IN", "accounts": [ACCOUNT_EXAMPLE, "12"]},
                {"country": "IN", "posts": [{"post": POST_EXAMPLE, "account": ACCOUNT_EXAMPLE}]},
            ],
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _mark_accounts(cls, data: object) -> object:
        # Without either list, the error names `accounts` (as before posts existed).
        if isinstance(data, dict):
            if "accounts" not in data and "posts" not in data:
                return {**data, "accounts": _ABSENT}
            if "accounts" in data and data["accounts"] is None:
                return {**data, "accounts": _NULL}
        return data

    @field_validator("accounts", mode="wrap")
    @classmethod
    def _accounts(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        if value is _ABSENT:
            raise PydanticCustomError("missing", "Field required (or give posts)")
        return handler(None if value is _NULL else value)

    @model_validator(mode="after")
    def _one_list(self) -> BatchVisibilityRequest:
        if self.accounts is not None and self.posts is not None:
            raise PydanticCustomError("accounts_or_posts", "give exactly one of accounts and posts")
        return self


class AccountVisibility(ReadModel):
    account: AccountOut
    visible: bool


class BatchVisibilityRead(ReadModel):
    country: CountryCode
    results: list[AccountVisibility]


class PostVisibility(ReadModel):
    post: PostOut
    account: AccountOut
    visible: bool
    scope: Scope | None = Field(default=None, description="Only when not visible.")


class BatchPostVisibilityRead(ReadModel):
    country: CountryCode
    results: list[PostVisibility]


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
