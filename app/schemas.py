"""API models. Ids travel as strings (JavaScript loses integers above 2**53); inputs are strict:
no coercion of ``false`` to 0 or of numbers to strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app import identifiers
from app.domain import LiftReason

MAX_BATCH = 10_000
MAX_BULK = 100_000

ACCOUNT_EXAMPLE = "1356948273645182976"


def _account(raw: object) -> int:
    try:
        return identifiers.parse_account(raw)
    except ValueError:
        raise PydanticCustomError("account_invalid", identifiers.ACCOUNT_ERROR) from None


def _viewer_country(raw: object) -> str:
    try:
        return identifiers.parse_viewer_country(raw)
    except ValueError:
        raise PydanticCustomError("country_invalid", identifiers.COUNTRY_ERROR) from None


def _rule_country(raw: object) -> str:
    try:
        return identifiers.parse_rule_country(raw)
    except ValueError:
        raise PydanticCustomError("country_invalid", identifiers.RULE_COUNTRY_ERROR) from None


_ACCOUNT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": identifiers.ACCOUNT_PATTERN,
    "description": "Account id: decimal string of an integer in 1 … 9223372036854775807.",
    "examples": [ACCOUNT_EXAMPLE],
}

AccountId = Annotated[
    int,
    BeforeValidator(_account),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_ACCOUNT_SCHEMA),
]
# Responses carry ids we produced ourselves: serialise to string, no input parsing.
AccountOut = Annotated[int, PlainSerializer(str, return_type=str), WithJsonSchema(_ACCOUNT_SCHEMA)]
ViewerCountry = Annotated[
    str,
    BeforeValidator(_viewer_country),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": identifiers.COUNTRY_PATTERN,
            "description": "Viewer's country: ISO 3166-1 alpha-2, any case (XX is not a country).",
            "examples": ["IN"],
        }
    ),
]
RuleCountry = Annotated[
    str,
    BeforeValidator(_rule_country),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": identifiers.RULE_COUNTRY_PATTERN,
            "description": "ISO 3166-1 alpha-2 country code, any case; XX = all countries.",
            "examples": ["IN"],
        }
    ),
]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["IN"])]
# C0 control characters other than tab, newline and carriage return (PostgreSQL cannot store
# NUL at all), as a JSON Schema pattern and as the check behind it.
PLAIN_TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _plain_text(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("text_control_character", "must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("text_encoding", "must be valid Unicode text") from None
    return value


_PLAIN = AfterValidator(_plain_text)
Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        pattern=PLAIN_TEXT_PATTERN,
        examples=["MeitY order under IT Act s.69A"],
    ),
    _PLAIN,
]
OrderRef = Annotated[
    str,
    Field(
        min_length=1, max_length=200, pattern=PLAIN_TEXT_PATTERN, examples=["MEITY/69A/2021/0042"]
    ),
    _PLAIN,
]
Note = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        pattern=PLAIN_TEXT_PATTERN,
        examples=["Karnataka High Court, W.P. 13710/2022"],
    ),
    _PLAIN,
]


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(raw: object) -> object:
    """Only RFC 3339 strings with an offset (pydantic alone would take numbers as Unix times)."""
    if isinstance(raw, datetime):
        return raw
    if type(raw) is not str or _RFC3339.fullmatch(raw) is None:
        raise PydanticCustomError(
            "datetime_format",
            "must be an RFC 3339 date-time with an offset, e.g. 2027-01-31T00:00:00Z",
        )
    return raw


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


def _future(value: datetime | None) -> datetime | None:
    if value is not None and value <= datetime.now(UTC):
        raise PydanticCustomError("expires_at_past", "must be in the future")
    return value.astimezone(UTC) if value is not None else None


class _Strict(BaseModel):
    """Request bodies: unknown fields are errors (a typo must not be silently dropped).

    Not pydantic's strict mode: FastAPI validates parsed JSON as Python objects, where strict
    mode would refuse every datetime string and enum value. The types above refuse coercion
    themselves (ids and countries must be strings)."""

    model_config = ConfigDict(extra="forbid")


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- lookups ------------------------------------------------------------------------------------


class VisibilityRead(_Read):
    account: AccountOut
    country: CountryCode
    visible: bool


class BatchVisibilityRequest(_Strict):
    country: ViewerCountry
    accounts: list[AccountId] = Field(min_length=1, max_length=MAX_BATCH)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"country": "IN", "accounts": [ACCOUNT_EXAMPLE, "12"]}]}
    )


class AccountVisibility(_Read):
    account: AccountOut
    visible: bool


class BatchVisibilityRead(_Read):
    country: CountryCode
    results: list[AccountVisibility]


# -- rules --------------------------------------------------------------------------------------


class _Terms(_Strict):
    reason: Reason
    order_ref: OrderRef | None = None
    expires_at: Rfc3339 | None = Field(
        default=None, description="RFC 3339 instant with an offset; must be in the future."
    )

    _check_future = field_validator("expires_at")(_future)


class RuleWrite(_Terms):
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


class LiftRequest(_Strict):
    reason: LiftReason = LiftReason.OTHER
    note: Note | None = None


class RuleRead(_Read):
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


class AccountWithholdings(BaseModel):
    account: AccountOut
    withheld_in_countries: list[CountryCode]
    rules: list[RuleRead]


class BulkItem(_Strict):
    account: AccountId
    country: RuleCountry


class BulkWithholdRequest(_Terms):
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


# -- operations ---------------------------------------------------------------------------------


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(description="ready | degraded | loading", examples=["ready"])
    index_loaded: bool
    database: str = Field(description="ok | unavailable", examples=["ok"])
    revision: int = Field(description="Changelog revision this process reflects.")
    pairs: int = Field(description="Active (account, country) pairs in memory.")
    consistency: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: str | list[ValidationIssue]
