"""The transparency report."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from app.schemas.common import (
    CountryCode,
)


class DeclinedCounts(BaseModel):
    news_media: int
    journalist: int
    activist: int
    politician: int
    other: int


class ReportRow(BaseModel):
    country: CountryCode
    authority: str | None = Field(
        description="The issuing authority; null for the row that counts sealed orders."
    )
    orders: int
    sealed_orders: int
    accounts_specified: int
    withheld: int
    withheld_global: int
    declined: DeclinedCounts
    lifted: int
    posts_specified: int = Field(description="Distinct posts named in decisions.")
    posts_withheld: int = Field(
        description="Distinct posts with a withhold or withhold_global decision."
    )
    hashtags_specified: int = Field(
        default=0, description="Distinct hashtags named in decisions on the row's orders."
    )
    hashtags_restricted: int = Field(
        default=0,
        description="Distinct hashtags with a `restrict` or `restrict_global` decision on them.",
    )


class TransparencyReport(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    rows: list[ReportRow]

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2021-01-01T00:00:00Z",
                    "to": "2021-07-01T00:00:00Z",
                    "rows": [
                        {
                            "country": "IN",
                            "authority": "MeitY",
                            "orders": 1,
                            "sealed_orders": 0,
                            "accounts_specified": 250,
                            "withheld": 120,
                            "withheld_global": 30,
                            "declined": {
                                "news_media": 40,
                                "journalist": 30,
                                "activist": 20,
                                "politician": 10,
                                "other": 0,
                            },
                            "lifted": 25,
                            "posts_specified": 12,
                            "posts_withheld": 10,
                            "hashtags_specified": 12,
                            "hashtags_restricted": 9,
                        }
                    ],
                }
            ]
        },
    )
