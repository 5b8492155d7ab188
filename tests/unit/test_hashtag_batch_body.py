"""The batch answer of ``POST /hashtags/eligible`` is byte for byte what orjson would write, and
its parser accepts exactly what the normalisation accepts."""

from __future__ import annotations

import orjson
import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given
from hypothesis import strategies as st

from app.api.hashtags import parse_batch, render_batch
from app.identifiers import normalize_hashtag

_RAW = st.text(
    st.characters(categories=["L", "M", "Nd", "Pc", "Po", "Cc", "Zs", "So"]), min_size=1
).map(lambda s: s[:30])


@given(st.lists(_RAW, min_size=1, max_size=40), st.booleans())
def test_render_matches_orjson_for_every_valid_batch(raws: list[str], sharp: bool) -> None:
    given_tags = [("#" if sharp else "") + raw for raw in raws]
    normalized = [normalize_hashtag(raw) for raw in given_tags]
    valid = [(g, t) for g, t in zip(given_tags, normalized, strict=True) if t is not None]
    if not valid:
        return
    tags_given = [g for g, _ in valid]
    tags = [t for _, t in valid]
    flags = [len(t) % 2 == 0 for t in tags]
    expected = orjson.dumps(
        {
            "country": "IN",
            "results": [
                {"hashtag": g, "normalized": t, "eligible": e}
                for g, t, e in zip(tags_given, tags, flags, strict=True)
            ],
        }
    )
    assert render_batch("IN", tags_given, tags, flags) == expected


@given(st.lists(_RAW, min_size=1, max_size=40))
def test_parse_accepts_a_batch_exactly_when_every_item_is_valid(raws: list[str]) -> None:
    body = orjson.dumps({"country": "in", "hashtags": raws})
    normalized = [normalize_hashtag(raw) for raw in raws]
    if None in normalized:
        with pytest.raises(RequestValidationError) as refused:
            parse_batch(body)
        bad = [i for i, tag in enumerate(normalized) if tag is None]
        assert [issue["loc"] for issue in refused.value.errors()] == [
            ["body", "hashtags", i] for i in bad
        ]
    else:
        assert parse_batch(body) == ("IN", raws, normalized)
