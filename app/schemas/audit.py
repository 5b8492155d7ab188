"""The audit log."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from app.domain import AuditAction
from app.schemas.common import (
    ACCOUNT_EXAMPLE,
    AccountOut,
    CountryCode,
    IdOut,
    PostOut,
    ReadModel,
)


class AuditEntryRead(ReadModel):
    at: datetime
    actor: str = Field(description="The admin token's name (never the token), or system:expiry.")
    action: AuditAction
    account: AccountOut | None = Field(default=None, validation_alias="account_id")
    hashtag: str | None = Field(default=None, description="The hashtag (normalised), if any.")
    country: CountryCode | None = None
    order_id: IdOut | None = None
    post: PostOut | None = Field(default=None, validation_alias="post_id")
    justification: str


class AuditPage(BaseModel):
    entries: list[AuditEntryRead]
    next: str | None = Field(
        description="Cursor for the next page (pass as `cursor`); null on the last page.",
        examples=["1042"],
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "at": "2021-02-01T10:05:00Z",
                            "actor": "trust-and-safety",
                            "action": "decision_withhold",
                            "account": ACCOUNT_EXAMPLE,
                            "country": "IN",
                            "order_id": "7",
                            "justification": "legal order MEITY/69A/2021/0042 (MeitY, IT Act "
                            "s.69A)",
                        }
                    ],
                    "next": None,
                }
            ]
        }
    )
