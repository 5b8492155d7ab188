"""The two identifiers of the contract, parsed one way everywhere (schemas and the hot path).

``account``: canonical decimal string of an integer in 1 … 2**63-1 (fits BIGINT); no sign, no
exponent, no leading zeros, so the string we answer with is the string we were sent.
``country``: an assigned ISO 3166-1 alpha-2 code, any case in, upper case out. ``XX`` is valid
only in rules ("withheld in all countries"), never as a viewer's country.
``hashtag``: normalised (see :func:`normalize_hashtag`); the normalised form is the one answered.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

from app.index import MAX_ID as MAX_ID
from app.iso3166 import ALL_COUNTRIES, COUNTRY_CODES

RULE_COUNTRIES: Final = COUNTRY_CODES | {ALL_COUNTRIES}


def _at_most(limit: str) -> str:
    """A regex of the decimal integers 1 … ``limit``, no leading zeros (for the schema)."""
    shorter = f"[1-9][0-9]{{0,{len(limit) - 2}}}"
    same_length = []
    for i, digit in enumerate(limit):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            same_length.append(f"{limit[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(limit) - i - 1}}}")
    same_length.append(limit)
    return "^(" + "|".join([shorter, *same_length]) + ")$"


ACCOUNT_PATTERN: Final = _at_most(str(MAX_ID))


def _any_case(codes: frozenset[str]) -> str:
    """A regex accepting exactly these codes in any case (JSON Schema has no /i flag)."""
    parts = (f"[{code[0]}{code[0].lower()}][{code[1]}{code[1].lower()}]" for code in sorted(codes))
    return "^(" + "|".join(parts) + ")$"


COUNTRY_PATTERN: Final = _any_case(COUNTRY_CODES)
RULE_COUNTRY_PATTERN: Final = _any_case(COUNTRY_CODES | {ALL_COUNTRIES})
_ACCOUNT_RE: Final = re.compile(r"[1-9][0-9]{0,18}")

ACCOUNT_ERROR: Final = (
    f"must be a decimal string of an integer from 1 to {MAX_ID} "
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
    if value > MAX_ID:
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


# ``hashtag``: NFKC, then case folding (``str.casefold``), one leading ``#`` dropped; then 1 …
# 100 characters, each a letter (L*), a combining mark (M*), a decimal digit (Nd) or ``_``,
# not only digits. Marks matter: Devanagari vowel signs are Mc/Mn, so a letters-only rule would
# refuse real Hindi hashtags.
HASHTAG_MAX_LENGTH: Final = 100
# NFKC composes at most a handful of code points into one (a base and three marks), so a longer
# raw string can never be valid: refusing it unread bounds the work (and the cache's entries).
HASHTAG_MAX_RAW_LENGTH: Final = 1000
HASHTAG_ERROR: Final = (
    "must be a hashtag, with or without one leading #: after NFKC normalisation and case "
    f"folding, 1 to {HASHTAG_MAX_LENGTH} letters, combining marks, decimal digits or "
    "underscores, not only digits"
)
_HASHTAG_CATEGORIES: Final = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd"})


_ASCII_HASHTAG: Final = re.compile(rf"#?[a-z0-9_]{{1,{HASHTAG_MAX_LENGTH}}}")


class _HashtagChars(dict[str, bool]):
    """Whether a character may be in a normalised hashtag, memoised (``unicodedata.category``
    per character is most of a non-ASCII tag's cost); memory is bounded by not keeping
    answers past a limit, which only an adversary's input reaches."""

    LIMIT: Final = 1 << 16

    def __missing__(self, char: str) -> bool:
        valid = char == "_" or unicodedata.category(char) in _HASHTAG_CATEGORIES
        if len(self) < self.LIMIT:
            self[char] = valid
        return valid


_VALID_CHAR: Final = _HashtagChars().__getitem__


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _is_folded(text: str) -> bool:
    """``_fold(text) == text``, without building the normal form when it is one already."""
    return unicodedata.is_normalized("NFKC", text) and text.casefold() == text


@functools.lru_cache(maxsize=1 << 16)
def normalize_hashtag(raw: str) -> str | None:
    """The normalised hashtag, or None when ``raw`` is not a valid one (cached: candidate lists
    repeat the same tags every few minutes).

    NFKC then case folding, applied again until nothing changes: case folding can leave a
    combining sequence NFKC would recompose (``"H\\u0331\\u0302"``), and normalising must be
    idempotent. For all but such sequences that is the first pass alone. ASCII needs neither
    (NFKC keeps it as it is, and its case folding is ``lower``).
    """
    if not raw or len(raw) > HASHTAG_MAX_RAW_LENGTH:
        return None
    if raw.isascii():
        folded = raw.lower()
        if _ASCII_HASHTAG.fullmatch(folded) is None:
            return None
        tag = folded[1:] if folded[0] == "#" else folded
        return None if tag.isdecimal() else tag
    folded = _fold(raw)
    for _ in range(4):
        if _is_folded(folded):
            break
        folded = _fold(folded)
    else:
        return None
    tag = folded[1:] if folded.startswith("#") else folded
    if not 0 < len(tag) <= HASHTAG_MAX_LENGTH or tag.isdecimal():
        return None
    return tag if all(map(_VALID_CHAR, tag)) else None


def parse_hashtag(raw: object) -> str:
    """The normalised hashtag, or ``ValueError`` (only ``str`` is accepted)."""
    if type(raw) is not str:
        raise ValueError(HASHTAG_ERROR)
    tag = normalize_hashtag(raw)
    if tag is None:
        raise ValueError(HASHTAG_ERROR)
    return tag
