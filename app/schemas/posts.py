"""Post rules: withhold one post (by its author) in a country, lift it, read its rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import (
    ACCOUNT_EXAMPLE,
    POST_EXAMPLE,
    AccountId,
    AccountOut,
    CountryCode,
    PostOut,
)
from app.schemas.rules import RuleRead, RuleTermsWrite


class PostRuleWrite(RuleTermsWrite):
    account: AccountId = Field(description="The post's author (a post has one).")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account": ACCOUNT_EXAMPLE,
                    "reason": "MeitY blocking order under IT Act s.69A",
                    "order_ref": "MEITY/69A/2021/0042",
                }
            ]
        }
    )


class PostRuleRead(RuleRead):
    post: PostOut = Field(validation_alias="post_id")
    account: AccountOut = Field(validation_alias="account_id", description="The post's author.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"post": POST_EXAMPLE, "account": ACCOUNT_EXAMPLE}]}
    )


class PostWithholdings(BaseModel):
    post: PostOut
    account: AccountOut | None = Field(description="The post's author; null if never withheld.")
    withheld_in_countries: list[CountryCode]
    rules: list[PostRuleRead]
