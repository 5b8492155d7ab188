"""The sliced parser reads exactly what ``json.loads`` reads (FastAPI's parse), or gives way."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api import sliced_bodies
from app.api.sliced_bodies import _UnreadableError, parse_object

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
OBJECTS = st.dictionaries(
    st.sampled_from(["items", "reason", "x", ""]) | st.text(max_size=4), VALUES, max_size=4
)


def _parse(text: str, cuts: list[int] | None = None) -> Any:
    """``parse_object`` of ``text``, whole or (``cuts``) in pieces that end at those offsets."""
    if cuts is None:
        return asyncio.run(parse_object(text, "items"))
    ends = [*sorted({cut % (len(text) + 1) for cut in cuts}), len(text)]
    pieces = [text[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    assert "".join(pieces) == text
    return asyncio.run(parse_object(iter(pieces), "items"))


CUTS = st.none() | st.lists(st.integers(min_value=0), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    document=OBJECTS,
    indent=st.sampled_from([None, 0, 2]),
    items=st.lists(VALUES, max_size=7),
    cuts=CUTS,
)
def test_it_reads_what_json_loads_reads(
    document: dict[str, Any], indent: int | None, items: list[Any], cuts: list[int] | None
) -> None:
    document["items"] = items
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    assert _parse(text, cuts) == json.loads(text)


def test_pieces_may_end_anywhere_even_in_a_number_or_a_word() -> None:
    text = '{"reason": "caf\u00e9", "items": [12345, true, null, -1.5e3, "ab"], "n": 7}'
    for end in range(len(text) + 1):
        assert _parse(text, [end]) == json.loads(text), f"cut at {end}"
    assert _parse(text, list(range(len(text)))) == json.loads(text), "one character a piece"


@settings(max_examples=500, deadline=None)
@given(
    document=OBJECTS,
    at=st.integers(min_value=0),
    edit=st.sampled_from(["delete", "insert"]),
    char=st.sampled_from(list('{}[],:" \\0aen')),
    cuts=CUTS,
)
def test_a_damaged_document_is_read_as_json_loads_reads_it_or_left_to_it(
    document: dict[str, Any], at: int, edit: str, char: str, cuts: list[int] | None
) -> None:
    text = json.dumps({**document, "items": [1, {"a": "b"}, [2]]})
    at %= len(text)
    damaged = text[:at] + text[at + 1 :] if edit == "delete" else text[:at] + char + text[at:]
    try:
        expected = json.loads(damaged)
    except json.JSONDecodeError:
        with pytest.raises(_UnreadableError):
            _parse(damaged, cuts)
        return
    if type(expected) is not dict:
        with pytest.raises(_UnreadableError):
            _parse(damaged, cuts)
        return
    assert _parse(damaged, cuts) == expected


@pytest.mark.parametrize("piece", [1, 2, 3, 5])
def test_the_body_is_decoded_a_piece_at_a_time_across_multibyte_characters(
    monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    monkeypatch.setattr(sliced_bodies, "DECODE_PIECE", piece)
    text = '{"reason": "Ministry \u2014 \u092d\u093e\u0930\u0924 \U0001f600", "items": [1]}'
    body = json.dumps(json.loads(text), ensure_ascii=False).encode()
    assert "".join(sliced_bodies._decoded(body)) == body.decode()
    assert asyncio.run(parse_object(sliced_bodies._decoded(body), "items")) == json.loads(body)


def test_a_body_that_is_not_utf8_fails_as_it_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sliced_bodies, "DECODE_PIECE", 4)
    with pytest.raises(UnicodeDecodeError):
        asyncio.run(parse_object(sliced_bodies._decoded(b'{"items": ["\xff"]}'), "items"))


def test_duplicate_keys_keep_the_last_as_json_loads_does() -> None:
    text = '{"items": [1], "reason": "a", "items": [2, 3], "reason": "b"}'
    assert _parse(text) == json.loads(text) == {"items": [2, 3], "reason": "b"}


def test_a_long_list_yields_to_the_loop_while_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sliced_bodies, "PARSE_SLICE", 10)
    ticks = 0

    async def count_ticks() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    async def read() -> Any:
        ticker = asyncio.create_task(count_ticks())
        await asyncio.sleep(0)
        parsed = await parse_object(json.dumps({"items": list(range(1000))}), "items")
        ticker.cancel()
        return parsed

    assert asyncio.run(read()) == {"items": list(range(1000))}
    assert ticks >= 1000 // 10 - 1  # the loop ran between every slice
