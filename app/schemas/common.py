"""What every API model is built from: identifiers, text, instants, the error shape.

from __future__ import annotations

Ids travel as strings (JavaScript loses integers above 2**53); inputs are strict:
no coercion of ``false`` to 0 or of numbers to strings."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app import identifiers

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
    "description": f"Account id: decimal string of an integer in 1 … {identifiers.MAX_ID}.",
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
POST_EXAMPLE = "1357000000000000042"
_POST_SCHEMA: dict[str, Any] = {
    **_ACCOUNT_SCHEMA,
    "description": f"Post id: decimal string of an integer in 1 … {identifiers.MAX_ID}.",
    "examples": [POST_EXAMPLE],
}


def _post(raw: object) -> int:
    try:
        return identifiers.parse_account(raw)  # the same grammar as an account id
    except ValueError:
        raise PydanticCustomError("post_invalid", identifiers.ACCOUNT_ERROR) from None


PostId = Annotated[
    int,
    BeforeValidator(_post),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_POST_SCHEMA),
]
PostOut = Annotated[int, PlainSerializer(str, return_type=str), WithJsonSchema(_POST_SCHEMA)]
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
ID_ERROR = identifiers.ACCOUNT_ERROR
# A resume cursor: 0 (the start) or a positive BIGINT.
CURSOR_PATTERN = "^(0|" + identifiers.ACCOUNT_PATTERN[1:-1] + ")$"
CURSOR_ERROR = "must be a cursor from a previous response (a decimal string), or 0"
# Ids of our own rows (orders, rules, audit entries), answered as decimal strings.
IdOut = Annotated[
    int,
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[1-9][0-9]*$", "examples": ["7"]}),
]


def _order_id(raw: object) -> int:
    try:
        return identifiers.parse_account(raw)  # the same range: a positive BIGINT
    except ValueError:
        raise PydanticCustomError("order_id_invalid", ID_ERROR) from None


OrderId = Annotated[
    int,
    BeforeValidator(_order_id),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": identifiers.ACCOUNT_PATTERN,
            "description": f"Order id: decimal string of an integer in 1 … {identifiers.MAX_ID}.",
            "examples": ["7"],
        }
    ),
]


def _cursor(raw: object) -> int:
    if type(raw) is str and raw == "0":
        return 0
    try:
        return identifiers.parse_account(raw)
    except ValueError:
        raise PydanticCustomError("cursor_invalid", CURSOR_ERROR) from None


Cursor = Annotated[
    int,
    BeforeValidator(_cursor),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": CURSOR_PATTERN,
            "description": "Opaque resume cursor: pass back a response's `next` as it is.",
            "examples": ["0"],
        }
    ),
]
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


def in_future(value: datetime | None) -> datetime | None:
    if value is not None and value <= datetime.now(UTC):
        raise PydanticCustomError("expires_at_past", "must be in the future")
    return value.astimezone(UTC) if value is not None else None


class RequestModel(BaseModel):
    """Request bodies: unknown fields are errors (a typo must not be silently dropped).

    Not pydantic's strict mode: FastAPI validates parsed JSON as Python objects, where strict
    mode would refuse every datetime string and enum value. The types above refuse coercion
    themselves (ids and countries must be strings)."""

    model_config = ConfigDict(extra="forbid")


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: str | list[ValidationIssue]


Authority = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=PLAIN_TEXT_PATTERN, examples=["MeitY"]),
    _PLAIN,
]
ActorName = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=PLAIN_TEXT_PATTERN, examples=["alice"]),
    _PLAIN,
]
LegalBasis = Annotated[
    str,
    Field(min_length=1, max_length=500, pattern=PLAIN_TEXT_PATTERN, examples=["IT Act s.69A"]),
    _PLAIN,
]
# http(s) only, an ASCII host (IDNs punycoded), printable ASCII after it: the document is a
# record for readers, never fetched by us.
DOCUMENT_URL_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"
DocumentUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        pattern=DOCUMENT_URL_PATTERN,
        description="http or https URL of the order's text (e.g. its Lumen notice).",
        examples=["https://lumendatabase.org/notices/12345"],
    ),
]
# A minute of clock skew between the client and us is not "the future".
CLOCK_SKEW = timedelta(minutes=1)


def _not_future(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "is out of range") from None
    if utc > datetime.now(UTC) + CLOCK_SKEW:
        raise PydanticCustomError("datetime_future", "must not be in the future")
    return utc


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "is out of range") from None


PastInstant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_not_future)]
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_utc)]
StrictBoolean = Annotated[bool, Strict()]
