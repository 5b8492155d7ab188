"""Account and country parsing, shared by the schemas and the hot path."""

from __future__ import annotations

import pytest

from app.identifiers import parse_account, parse_rule_country, parse_viewer_country


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
