"""The compiled post batch scanner (``scan_post_items`` / ``render_post_items``, in
``app/index/_probe.c``) reads and answers exactly what its twin, the JSON path, does: whatever
body it accepts, orjson parses to the same batch, and the answer is the same bytes."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.edge.bodies import (
    parse_account_list,
    render_post_batch,
    render_scanned_post_batch,
    scan_post_batch,
    split_post_items,
)
from app.identifiers import parse_viewer_country
from app.index import COMPILED_PROBE
from app.limits import MAX_BATCH

pytestmark = pytest.mark.skipif(not COMPILED_PROBE, reason="app/index/_probe.c was not compiled")

IDS = st.one_of(
    st.integers(min_value=1, max_value=2**63 - 1).map(str),
    st.sampled_from(["0", "012", "-5", "1e5", "9223372036854775808", "1" * 30, "", " 7", "٣"]),
)
ITEMS = st.lists(
    st.builds(lambda post, account: {"post": post, "account": account}, IDS, IDS),
    min_size=0,
    max_size=8,
)
COUNTRIES = st.sampled_from(["IN", "in", "De", "XX", "ZZ", "I", ""])
SPACES = st.sampled_from(["", " ", "\n", "\t ", "\r\n  "])


def _json_path(body: bytes) -> tuple[str, list[str], list[str]] | None:
    """What the fast path's JSON twin makes of a body: (country, posts, authors) or None."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(request) is not dict or request.keys() != {"country", "posts"}:
        return None
    try:
        country = parse_viewer_country(request["country"])
    except ValueError:
        return None
    items = split_post_items(request["posts"])
    if items is None:
        return None
    posts, authors = items
    if parse_account_list(posts) is None or parse_account_list(authors) is None:
        return None
    return country, posts, authors


def _spelled(country: str, items: list[dict[str, str]], space: str, style: int) -> bytes:
    if style == 0:
        return orjson.dumps({"country": country, "posts": items})
    if style == 1:
        return json.dumps({"country": country, "posts": items}).encode()
    if style == 2:
        return json.dumps({"country": country, "posts": items}, indent=2).encode()
    parts = [
        f'{{{space}"post"{space}:{space}"{i["post"]}"{space},{space}"account":"{i["account"]}"}}'
        for i in items
    ]
    head = f'{space}{{"country":{space}"{country}",{space}"posts":[{space}'
    return f"{head}{f',{space}'.join(parts)}{space}]{space}}}{space}".encode()


def _check(body: bytes) -> None:
    scanned = scan_post_batch(body)
    twin = _json_path(body)
    if scanned is None:
        return
    assert twin is not None, body
    country, posts, authors = twin
    assert scanned.country == country
    assert scanned.posts.tolist() == [int(p) for p in posts]
    assert scanned.authors.tolist() == [int(a) for a in authors]
    rng = np.random.default_rng(len(body))
    author_withheld = rng.random(len(posts)) < 0.4
    post_withheld = rng.random(len(posts)) < 0.4
    assert render_scanned_post_batch(scanned, author_withheld, post_withheld) == (
        render_post_batch(country, posts, authors, author_withheld, post_withheld)
    )


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    country=COUNTRIES,
    items=ITEMS,
    space=SPACES,
    style=st.integers(min_value=0, max_value=3),
)
def test_the_scanner_reads_every_spelling_as_the_json_path_does(
    country: str, items: list[dict[str, str]], space: str, style: int
) -> None:
    body = _spelled(country, items, space, style)
    _check(body)
    if _json_path(body) is not None:
        assert scan_post_batch(body) is not None, "an encoder's spelling falls back to orjson"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(
        st.builds(lambda post, account: {"post": post, "account": account}, IDS, IDS),
        min_size=1,
        max_size=4,
    ),
    at=st.integers(min_value=0),
    edit=st.sampled_from(["delete", "insert", "replace"]),
    byte=st.sampled_from([*b'{}[],:"\\ 0159ae\x00', 0xC3]),
)
def test_a_damaged_body_is_never_misread(
    items: list[dict[str, str]], at: int, edit: str, byte: int
) -> None:
    body = bytearray(orjson.dumps({"country": "IN", "posts": items}))
    at %= len(body)
    if edit == "delete":
        del body[at]
    elif edit == "insert":
        body.insert(at, byte)
    else:
        body[at] = byte
    _check(bytes(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"country":"IN","posts":[{"post":"1","account":"2"}],"country":"DE"}',
        b'{"country":"IN","posts":[{"post":"1","account":"2","post":"3"}]}',
        b'{"country":"IN","posts":[{"account":"2","post":"1"}]}',
        b'{"country":"IN","posts":[{"post":"1","account":"2"},]}',
        b'{"country":"IN","posts":[]}',
        b'{"country":"IN","posts":[{"post":"\\u0031","account":"2"}]}',
        b'{"country":"IN","posts":[{"post":"1","account":"2"}]}x',
        b'{"country":"IN","posts":[{"post":"1","account":"2"}]',
    ],
)
def test_what_the_scanner_leaves_to_the_json_path(body: bytes) -> None:
    """Other orders, duplicate keys, escapes and broken ends are orjson's (and the route's)."""
    assert scan_post_batch(body) is None


def test_the_batch_limit_holds() -> None:
    item = {"post": "1", "account": "2"}
    assert scan_post_batch(orjson.dumps({"country": "IN", "posts": [item] * MAX_BATCH}))
    assert (
        scan_post_batch(orjson.dumps({"country": "IN", "posts": [item] * (MAX_BATCH + 1)})) is None
    )
