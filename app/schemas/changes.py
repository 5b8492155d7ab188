"""The change feed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from app.domain import ChangeOp
from app.schemas.common import (
    ACCOUNT_EXAMPLE,
    AccountOut,
    CountryCode,
    PostOut,
    ReadModel,
)


class ChangeRead(ReadModel):
    revision: int
    op: ChangeOp
    account: AccountOut = Field(
        validation_alias="account_id", description="The account, or a post's author."
    )
    post: PostOut | None = Field(
        default=None,
        validation_alias="post_id",
        description="Only for a change of a post's rule: the post.",
    )
    country: CountryCode
    at: datetime


class HashtagChangeOp(StrEnum):
    RESTRICT = "restrict"
    LIFT = "lift"


class HashtagChangeRead(BaseModel):
    """A hashtag's restriction made or lifted: it may not (or again may) trend there."""

    revision: int
    op: HashtagChangeOp
    hashtag: str = Field(description="Normalised (NFKC, case folded, no `#`).")
    country: CountryCode
    at: datetime


class ChangePage(BaseModel):
    changes: list[ChangeRead | HashtagChangeRead]
    next: str = Field(
        description="Resume cursor: the last revision returned (or the one given when nothing "
        "is new). It never expires.",
        examples=["1042"],
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "changes": [
                        {
                            "revision": 1041,
                            "op": "withhold",
                            "account": ACCOUNT_EXAMPLE,
                            "country": "IN",
                            "at": "2021-02-01T10:05:00Z",
                        },
                        {
                            "revision": 1042,
                            "op": "lift",
                            "account": ACCOUNT_EXAMPLE,
                            "country": "IN",
                            "at": "2021-02-01T16:20:00Z",
                        },
                    ],
                    "next": "1042",
                }
            ]
        }
    )
