"""Account and country parsing, shared by the schemas and the hot path."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.identifiers import (
    ACCOUNT_PATTERN,
    COUNTRY_PATTERN,
    parse_account,
    parse_rule_country,
    parse_viewer_country,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("12", 12),
        ("9223372036854775807", 2**63 - 1),
        ("1356948273645182976", 1356948273645182976),
    ],
)
def test_accepts_canonical_decimal_ids(raw: str, expected: int) -> None:
    assert parse_account(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0",
        "-5",
        "+5",
        "007",
        "1e5",
        "abc",
        " 5",
        "5 ",
        "9223372036854775808",
        "99999999999999999999",
        "١٢",
        "²",
        5,
        5.0,
        None,
        True,
        ["5"],
    ],
)
def test_rejects_everything_else(raw: object) -> None:
    with pytest.raises(ValueError, match="decimal string"):
        parse_account(raw)


def test_viewer_country_is_case_insensitive_and_upper_cased() -> None:
    assert parse_viewer_country("in") == "IN"
    assert parse_viewer_country("In") == "IN"


@pytest.mark.parametrize("raw", ["XX", "ZZ", "IND", "", "1N", "İN", "\u0131n", "I", None, 12])
def test_viewer_country_must_be_an_assigned_code(raw: object) -> None:
    with pytest.raises(ValueError, match="ISO 3166-1"):
        parse_viewer_country(raw)


def test_rules_may_name_all_countries() -> None:
    assert parse_rule_country("xx") == "XX"
    assert parse_rule_country("de") == "DE"
    with pytest.raises(ValueError, match="XX for all countries"):
        parse_rule_country("ZZ")


@given(
    st.one_of(
        st.integers(min_value=-10, max_value=2**64).map(str),
        st.text(max_size=21),
        st.from_regex(ACCOUNT_PATTERN, fullmatch=True),
    )
)
def test_the_documented_pattern_accepts_exactly_the_valid_ids(raw: str) -> None:
    documented = re.fullmatch(ACCOUNT_PATTERN, raw) is not None
    try:
        parse_account(raw)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert documented == accepted, raw


@given(st.text(max_size=3))
def test_the_documented_country_pattern_accepts_exactly_the_valid_codes(raw: str) -> None:
    documented = re.fullmatch(COUNTRY_PATTERN, raw) is not None
    try:
        parse_viewer_country(raw)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert documented == accepted, raw
