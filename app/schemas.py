"""API models. Ids travel as strings (JavaScript loses integers above 2**53); inputs are strict:
no coercion of ``false`` to 0 or of numbers to strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app import domain, identifiers
from app.domain import AuditAction, ChangeOp, DecisionAction, DeclineCategory

MAX_BATCH = 10_000
MAX_BULK = 100_000
MAX_DECISIONS = 10_000

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
ID_ERROR = (
    "must be a decimal string of an integer from 1 to 9223372036854775807 "
    "(no sign, exponent or leading zeros)"
)
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
            "description": "Order id: decimal string of an integer in 1 … 9223372036854775807.",
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
    at: datetime | None = Field(
        default=None, description="Only with `at`: the past instant this answer is for."
    )
    explanation: Explanation | None = Field(
        default=None, description="Only with `explain=true`: the rules behind the answer."
    )


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


class LiftReason(StrEnum):
    """Why a person lifts a rule. ``expired`` is not among them: only expiry records it."""

    ORDER_REVOKED = domain.LiftReason.ORDER_REVOKED.value
    REVIEW = domain.LiftReason.REVIEW.value
    COURT_RULING = domain.LiftReason.COURT_RULING.value
    OTHER = domain.LiftReason.OTHER.value


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


# -- legal orders ---------------------------------------------------------------------------------

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

ORDER_EXAMPLE: dict[str, Any] = {
    "country": "IN",
    "authority": "MeitY",
    "legal_basis": "IT Act s.69A",
    "reference": "MEITY/69A/2021/0042",
    "received_at": "2021-02-01T09:30:00Z",
    "document_url": "https://lumendatabase.org/notices/12345",
    "sealed": False,
}


class OrderCreate(_Strict):
    country: ViewerCountry = Field(description="The country whose authority issued the order.")
    authority: Authority
    legal_basis: LegalBasis
    reference: OrderRef = Field(description="The authority's own reference for the order.")
    received_at: PastInstant = Field(
        description="RFC 3339 instant with an offset, not in the future (a minute of clock "
        "skew is tolerated)."
    )
    document_url: DocumentUrl | None = None
    sealed: StrictBoolean = Field(
        default=False,
        description="A sealed order is never named publicly: it only counts in the "
        "transparency report.",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [ORDER_EXAMPLE]})


class OrderRead(_Read):
    id: IdOut
    country: CountryCode
    authority: str
    legal_basis: str
    reference: str
    received_at: datetime
    document_url: str | None
    sealed: bool
    created_at: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "7", **ORDER_EXAMPLE, "created_at": "2021-02-01T10:02:11Z"}]
        }
    )


class OrderPage(BaseModel):
    orders: list[OrderRead]
    next: str | None = Field(
        description="Cursor for the next page (pass as `cursor`); null on the last page.",
        examples=["7"],
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "orders": [{"id": "7", **ORDER_EXAMPLE, "created_at": "2021-02-01T10:02:11Z"}],
                    "next": None,
                }
            ]
        }
    )


def _decline_needs_category(
    category: DeclineCategory | None, info: ValidationInfo
) -> DeclineCategory | None:
    if category is None and info.data.get("action") is DecisionAction.DECLINE:
        raise PydanticCustomError("category_required", "is required when action is decline")
    return category


class DecisionItem(_Strict):
    account: AccountId
    action: DecisionAction = Field(
        description="`withhold`: in the order's country; `withhold_global`: in every country "
        "(XX), e.g. a suspension; `decline`: nothing done, `category` says why."
    )
    category: DeclineCategory | None = Field(
        default=None,
        description="Required for `decline`; optional otherwise (what kind of account it is).",
    )
    note: Note | None = None

    _check_category = field_validator("category", mode="after")(_decline_needs_category)

    model_config = ConfigDict(
        validate_default=True,
        json_schema_extra={
            "if": {"properties": {"action": {"const": "decline"}}, "required": ["action"]},
            "then": {"required": ["category"], "properties": {"category": {"type": "string"}}},
        },
    )


class DecisionsRequest(_Strict):
    decisions: list[DecisionItem] = Field(min_length=1, max_length=MAX_DECISIONS)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        {"account": ACCOUNT_EXAMPLE, "action": "withhold"},
                        {"account": "12", "action": "withhold_global", "note": "spam network"},
                        {"account": "13", "action": "decline", "category": "journalist"},
                    ]
                }
            ]
        }
    )


class DecisionsRead(BaseModel):
    order_id: IdOut
    withheld: int = Field(description="Rules newly created in the order's country.")
    withheld_global: int = Field(description="Rules newly created for all countries (XX).")
    declined: int = Field(description="Decline decisions recorded.")
    already_active: int = Field(
        description="Withhold decisions whose rule was already active (kept as it was)."
    )
    revision: int = Field(description="Changelog revision that reflects this write.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "7",
                    "withheld": 150,
                    "withheld_global": 30,
                    "declined": 70,
                    "already_active": 0,
                    "revision": 180,
                }
            ]
        }
    )


# -- explain ------------------------------------------------------------------------------------


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


# -- audit --------------------------------------------------------------------------------------


class AuditEntryRead(_Read):
    at: datetime
    actor: str = Field(description="The admin token's name (never the token), or system:expiry.")
    action: AuditAction
    account: AccountOut | None = Field(default=None, validation_alias="account_id")
    country: CountryCode | None = None
    order_id: IdOut | None = None
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


# -- change feed --------------------------------------------------------------------------------


class ChangeRead(_Read):
    revision: int
    op: ChangeOp
    account: AccountOut = Field(validation_alias="account_id")
    country: CountryCode
    at: datetime


class ChangePage(BaseModel):
    changes: list[ChangeRead]
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


# -- transparency report ------------------------------------------------------------------------


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
                        }
                    ],
                }
            ]
        },
    )


VisibilityRead.model_rebuild()
