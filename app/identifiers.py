"""The two identifiers of the contract, parsed one way everywhere (schemas and the hot path).

``account``: canonical decimal string of an integer in 1 … 2**63-1 (fits BIGINT); no sign, no
exponent, no leading zeros, so the string we answer with is the string we were sent.
``country``: an assigned ISO 3166-1 alpha-2 code, any case in, upper case out. ``XX`` is valid
only in rules ("withheld in all countries"), never as a viewer's country.
"""

from __future__ import annotations

import re
from typing import Final

from app.countries import ALL_COUNTRIES, COUNTRY_CODES

MAX_ACCOUNT: Final = 2**63 - 1
ACCOUNT_PATTERN: Final = r"^[1-9][0-9]{0,18}$"
COUNTRY_PATTERN: Final = r"^[A-Za-z]{2}$"
_ACCOUNT_RE: Final = re.compile(r"[1-9][0-9]{0,18}")
RULE_COUNTRIES: Final = COUNTRY_CODES | {ALL_COUNTRIES}

ACCOUNT_ERROR: Final = (
    "must be a decimal string of an integer from 1 to 9223372036854775807 "
    "(no sign, exponent or leading zeros)"
)
COUNTRY_ERROR: Final = "must be an assigned ISO 3166-1 alpha-2 country code"
RULE_COUNTRY_ERROR: Final = (
    "must be an assigned ISO 3166-1 alpha-2 country code, or XX for all countries"
)


def parse_account(raw: object) -> int:
    """The account id, or ``ValueError`` (only ``str`` is accepted: ids travel as strings)."""
    if type(raw) is not str or _ACCOUNT_RE.fullmatch(raw) is None:
        raise ValueError(ACCOUNT_ERROR)
    value = int(raw)
    if value > MAX_ACCOUNT:
        raise ValueError(ACCOUNT_ERROR)
    return value


def parse_viewer_country(raw: object) -> str:
    """A real country a viewer can be in (``XX`` is rejected)."""
    if type(raw) is not str or len(raw) != 2 or not raw.isascii():
        raise ValueError(COUNTRY_ERROR)
    code = raw.upper()
    if code not in COUNTRY_CODES:
        raise ValueError(COUNTRY_ERROR)
    return code


def parse_rule_country(raw: object) -> str:
    """A country a rule can name: a real country or ``XX``."""
    if type(raw) is not str or len(raw) != 2 or not raw.isascii():
        raise ValueError(RULE_COUNTRY_ERROR)
    code = raw.upper()
    if code not in RULE_COUNTRIES:
        raise ValueError(RULE_COUNTRY_ERROR)
    return code
