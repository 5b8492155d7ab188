"""Hashtag normalisation: NFKC then case folding, one `#` dropped, then the character rule."""

# Full-width spellings are the point here.
# ruff: noqa: RUF001

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.identifiers import HASHTAG_MAX_LENGTH, normalize_hashtag, parse_hashtag


@pytest.mark.parametrize(
    "spelling",
    ["ＦａｒｍｅｒｓＰｒｏｔｅｓｔ", "#FarmersProtest", "farmersprotest", "＃FARMERSPROTEST"],
)
def test_spellings_of_one_hashtag_normalise_alike(spelling: str) -> None:
    assert parse_hashtag(spelling) == "farmersprotest"


def test_sharp_s_folds_to_ss() -> None:
    assert parse_hashtag("Straße") == parse_hashtag("STRASSE") == "strasse"


def test_devanagari_vowel_signs_are_combining_marks_and_valid() -> None:
    tag = "किसान_आंदोलन"
    assert any(unicodedata.category(char).startswith("M") for char in tag)
    assert parse_hashtag(tag) == tag
    assert parse_hashtag("#" + tag) == tag


@pytest.mark.parametrize(
    "raw",
    [
        "farmers protest",
        "farmers-protest",
        "12345",
        "#12345",
        "🌾",
        "tag#tag",
        "##tag",
        "a\x00b",
        "\x00",
        "",
        "#",
        "a" * (HASHTAG_MAX_LENGTH + 1),
        "#" + "a" * (HASHTAG_MAX_LENGTH + 1),
        "x" * 5000,
    ],
)
def test_invalid_hashtags_are_refused(raw: str) -> None:
    assert normalize_hashtag(raw) is None
    with pytest.raises(ValueError, match="hashtag"):
        parse_hashtag(raw)


@pytest.mark.parametrize("raw", [None, 12, ["tag"], b"tag", True])
def test_only_strings_are_hashtags(raw: object) -> None:
    with pytest.raises(ValueError, match="hashtag"):
        parse_hashtag(raw)


def test_lengths_count_after_normalisation() -> None:
    assert parse_hashtag("#" + "a" * HASHTAG_MAX_LENGTH) == "a" * HASHTAG_MAX_LENGTH
    # Full-width letters are one code point each, as are their ASCII forms.
    assert parse_hashtag("Ａ" * HASHTAG_MAX_LENGTH) == "a" * HASHTAG_MAX_LENGTH
    # "ß" folds to two characters: 60 of them are 120, too long.
    assert normalize_hashtag("ß" * 60) is None


def test_digits_with_a_letter_or_underscore_are_valid() -> None:
    assert parse_hashtag("2021_protest") == "2021_protest"
    assert parse_hashtag("_1") == "_1"


# Characters a hashtag may hold (letters, marks, digits, underscore) and ones around them.
_TAG_CHARS = st.characters(categories=["L", "M", "Nd"]) | st.just("_")
_ANY_TEXT = st.text(min_size=0, max_size=40)


@given(_ANY_TEXT)
def test_normalising_twice_changes_nothing(raw: str) -> None:
    once = normalize_hashtag(raw)
    if once is not None:
        assert normalize_hashtag(once) == once


@given(st.text(_TAG_CHARS, min_size=1, max_size=30))
def test_normalising_a_normalised_tag_changes_nothing(raw: str) -> None:
    once = normalize_hashtag(raw)
    if once is not None:
        assert normalize_hashtag(once) == once
        assert normalize_hashtag("#" + once) == once


def _full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms (U+FF01 … U+FF5E)."""
    return "".join(
        chr(ord(char) - 0x21 + 0xFF01) if "!" <= char <= "~" and char.isalnum() else char
        for char in text
    )


@given(st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_"), min_size=1, max_size=99))
def test_sharp_prefixed_upper_case_and_full_width_spellings_are_one(tag: str) -> None:
    normalised = normalize_hashtag(tag)
    if normalised is None:
        assert tag.isdecimal()
        return
    assert normalize_hashtag("#" + tag) == normalised
    assert normalize_hashtag(tag.upper()) == normalised
    assert normalize_hashtag(_full_width(tag)) == normalised
    assert normalize_hashtag("＃" + _full_width(tag.upper())) == normalised


@given(st.text(_TAG_CHARS, min_size=1, max_size=40))
def test_a_valid_tag_answers_in_its_case_folded_nfkc_form(raw: str) -> None:
    tag = normalize_hashtag(raw)
    if tag is None:
        return
    assert 1 <= len(tag) <= HASHTAG_MAX_LENGTH
    assert not tag.isdecimal()
    assert all(c == "_" or unicodedata.category(c)[0] in "LM" or c.isdecimal() for c in tag)
    first = unicodedata.normalize("NFKC", raw).casefold().removeprefix("#")
    if normalize_hashtag(first) == first:  # the common case: one pass is already stable
        assert tag == first


def _by_the_letter(raw: str) -> str | None:
    """The contract's rule written plainly, without the fast paths: NFKC, case folding, again
    until stable, ``#`` dropped, then each character's category."""

    def fold(text: str) -> str:
        return unicodedata.normalize("NFKC", text).casefold()

    if not raw or len(raw) > 1000:
        return None
    folded = fold(raw)
    for _ in range(4):
        if fold(folded) == folded:
            break
        folded = fold(folded)
    else:
        return None
    tag = folded[1:] if folded.startswith("#") else folded
    if not 0 < len(tag) <= HASHTAG_MAX_LENGTH or tag.isdecimal():
        return None
    allowed = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd"}
    if any(char != "_" and unicodedata.category(char) not in allowed for char in tag):
        return None
    return tag


_ALPHABET = st.one_of(
    st.characters(codec="ascii"),
    st.sampled_from("#_ßİıΣσςﬁ①²Ⅻ０９Ａａकिसानंـ\u0331\u0302\u0301\u200d"),
    st.characters(),
)


@given(st.text(_ALPHABET, max_size=12))
def test_the_fast_paths_answer_as_the_rule_does(raw: str) -> None:
    assert normalize_hashtag.__wrapped__(raw) == _by_the_letter(raw)
