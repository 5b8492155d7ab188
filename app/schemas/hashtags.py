"""Hashtag restrictions and eligibility (may a hashtag trend, be suggested, in a country?)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from app import identifiers
from app.limits import MAX_HASHTAG_BATCH
from app.schemas.common import CountryCode, IdOut, ReadModel, ViewerCountry
from app.schemas.orders import OrderRead
from app.schemas.visibility import SealedOrder

HASHTAG_EXAMPLE = "FarmersProtest"


def _hashtag(raw: object) -> str:
    try:
        return identifiers.parse_hashtag(raw)
    except ValueError:
        raise PydanticCustomError("hashtag_invalid", identifiers.HASHTAG_ERROR) from None


# No pattern: what is valid is decided after NFKC and case folding, which a regular expression
# cannot say. The length bound is the raw one (longer can never be valid).
HASHTAG_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": identifiers.HASHTAG_MAX_RAW_LENGTH,
    "description": "A hashtag, with or without one leading `#`. Normalised by NFKC then case "
    "folding (full-width `#FarmersProtest` = `farmersprotest`, `Straße` = `STRASSE`); then "
    f"1 … {identifiers.HASHTAG_MAX_LENGTH} letters, combining marks, decimal digits or `_`, "
    "not only digits.",
    "examples": [HASHTAG_EXAMPLE],
}
NORMALIZED_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": identifiers.HASHTAG_MAX_LENGTH,
    "description": "The hashtag normalised (NFKC, case folded, no `#`).",
    "examples": ["farmersprotest"],
}

Hashtag = Annotated[str, BeforeValidator(_hashtag), WithJsonSchema(HASHTAG_SCHEMA)]
"""A hashtag as a request gives it; validated to its normalised form."""
NormalizedHashtag = Annotated[str, WithJsonSchema(NORMALIZED_SCHEMA)]


class RestrictionRead(ReadModel):
    hashtag: NormalizedHashtag
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
        description="The legal order this restriction was created for (null when none, or when "
        "the order is sealed).",
        examples=["7"],
    )


class HashtagRestrictions(BaseModel):
    hashtag: NormalizedHashtag
    restricted_in_countries: list[CountryCode] = Field(
        description="Where it may not trend nor be suggested now, sorted (XX = everywhere)."
    )
    restrictions: list[RestrictionRead]


class ExplainedRestriction(BaseModel):
    country: CountryCode
    reason: str
    order_ref: str | None
    created_at: datetime
    expires_at: datetime | None
    order: OrderRead | SealedOrder | None = Field(
        description='The legal order behind the restriction; `{"sealed": true}` for a sealed one.'
    )


class EligibilityExplanation(BaseModel):
    restrictions: list[ExplainedRestriction] = Field(
        description="Restrictions of the hashtag in that country or everywhere (XX)."
    )
    message: str = Field(
        examples=[
            "#farmersprotest is restricted in India in response to a legal demand: it "
            "may not trend nor be suggested."
        ]
    )


class EligibilityRead(BaseModel):
    hashtag: NormalizedHashtag
    country: CountryCode
    eligible: bool = Field(description="May it trend and be suggested in that country?")
    at: datetime | None = Field(
        default=None, description="Only with `at`: the past instant this answer is for."
    )
    explanation: EligibilityExplanation | None = Field(
        default=None, description="Only with `explain=true`: the restrictions behind the answer."
    )


class EligibilityBatchRequest(BaseModel):
    """Documents the body of ``POST /hashtags/eligible``; the route parses it itself (1,000
    strings through a model cost more than the whole answer)."""

    country: ViewerCountry
    hashtags: list[Hashtag] = Field(min_length=1, max_length=MAX_HASHTAG_BATCH)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"country": "IN", "hashtags": ["#FarmersProtest", "cricket"]}]
        },
    )


class HashtagEligibility(BaseModel):
    hashtag: str = Field(description="As given in the request.")
    normalized: NormalizedHashtag
    eligible: bool


class EligibilityBatchRead(BaseModel):
    country: CountryCode
    results: list[HashtagEligibility] = Field(description="In request order, duplicates kept.")
