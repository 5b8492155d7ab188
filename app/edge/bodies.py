"""Lookup response bodies written as bytes, and the batch id list parsed in one pass.

The fast path and the documented routes (``app.api.visibility``) both answer with these, so the
two give the same bytes; ``tests/unit/test_batch_codec.py`` holds them to what orjson writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from app.identifiers import MAX_ID, parse_viewer_country
from app.index import render_post_items, scan_post_items
from app.limits import MAX_BATCH

_COMMA: Final = np.uint8(ord(","))
_ZERO: Final = np.uint8(ord("0"))
# 10**0 … 10**18: the number of these <= v is the digit count of v (0 for v = 0).
_POWERS_OF_TEN: Final = np.array([10**k for k in range(19)], dtype=np.uint64)


def render_visibility(account: str, country: str, visible: bool) -> bytes:
    """The response body, byte for byte what the route would serialise."""
    flag = "true" if visible else "false"
    return f'{{"account":"{account}","country":"{country}","visible":{flag}}}'.encode()


_RESULTS_OPEN: Final = '","results":[{"account":"'
# What follows each account in a batch body, by its withheld flag; the last one's
# trailing ',{"account":"' is cut off.
_AFTER_ACCOUNT: Final = np.array(
    ['","visible":true},{"account":"', '","visible":false},{"account":"'], dtype=object
)
_NEXT_ITEM: Final = len(',{"account":"')


def render_batch(country: str, accounts: list[str], withheld: NDArray[np.bool_]) -> bytes:
    """The batch body, as orjson would write the response model, without building 10,000
    dicts: ids are validated digit strings, so plain concatenation is safe JSON."""
    parts: list[str] = [""] * (2 * len(accounts))
    parts[0::2] = accounts
    parts[1::2] = _AFTER_ACCOUNT[withheld.view(np.uint8)].tolist()
    items = "".join(parts)
    return f'{{"country":"{country}{_RESULTS_OPEN}{items[:-_NEXT_ITEM]}]}}'.encode()


def parse_account_list(raw: object) -> NDArray[np.uint64] | None:
    """Vectorised ``parse_account`` over a JSON list: the ids, or None if any is invalid."""
    if type(raw) is not list or not 1 <= len(raw) <= MAX_BATCH:
        return None
    try:
        joined = ",".join(raw)  # TypeError unless every item is a str
    except TypeError:
        return None
    if not joined or not joined.isascii():
        return None
    text = joined.encode()
    # ASCII digits and commas only, exactly one comma between ids, none at either end: then
    # this parses exactly one id per item (str.isdigit() would accept other scripts' digits).
    codes = np.frombuffer(text, dtype=np.uint8)
    commas = codes == _COMMA
    if (
        not ((codes - _ZERO <= 9) | commas).all()
        or int(np.count_nonzero(commas)) != len(raw) - 1
        or b",," in text
        or codes[0] == _COMMA
        or codes[-1] == _COMMA
    ):
        return None
    ids = np.fromstring(text, dtype=np.uint64, sep=",")  # 20+ digits saturate at 2**64 - 1
    if len(ids) != len(raw):
        return None
    # Each id has at most as many digits as its string (fewer with a leading zero, for "0",
    # or when saturated), so equal totals mean every id is written canonically.
    digits = int(np.searchsorted(_POWERS_OF_TEN, ids, side="right").sum())
    if digits != len(text) - (len(raw) - 1) or int(ids.max()) > MAX_ID:
        return None
    return ids


def render_post_visibility(account: str, post: str, country: str, scope: str | None) -> bytes:
    """A post lookup's body: ``scope`` (``account`` or ``post``) only when it is not visible."""
    head = f'{{"account":"{account}","post":"{post}","country":"{country}","visible":'
    if scope is None:
        return f"{head}true}}".encode()
    return f'{head}false,"scope":"{scope}"}}'.encode()


# What follows each author in a post batch body, by its scope code (0 visible, 1 the account
# withholds it, 2 the post does); the last one's trailing ',{"post":"' is cut off.
_AFTER_AUTHOR: Final = np.array(
    [
        '","visible":true},{"post":"',
        '","visible":false,"scope":"account"},{"post":"',
        '","visible":false,"scope":"post"},{"post":"',
    ],
    dtype=object,
)
_NEXT_POST: Final = len(',{"post":"')
_AUTHOR_OPEN: Final = '","account":"'


def post_scope_codes(
    author_withheld: NDArray[np.bool_], post_withheld: NDArray[np.bool_]
) -> NDArray[np.uint8]:
    """Per item: 0 visible, 1 hidden by its author's rule (which wins), 2 by the post's own."""
    codes = post_withheld.astype(np.uint8) * 2
    codes[author_withheld] = 1
    return codes


def render_post_batch(
    country: str,
    posts: list[str],
    accounts: list[str],
    author_withheld: NDArray[np.bool_],
    post_withheld: NDArray[np.bool_],
) -> bytes:
    """The post batch body, as orjson would write the response model (ids are validated digit
    strings, so plain concatenation is safe JSON)."""
    parts: list[str] = [""] * (4 * len(posts))
    parts[0::4] = posts
    parts[1::4] = [_AUTHOR_OPEN] * len(posts)
    parts[2::4] = accounts
    parts[3::4] = _AFTER_AUTHOR[post_scope_codes(author_withheld, post_withheld)].tolist()
    items = "".join(parts)
    return f'{{"country":"{country}","results":[{{"post":"{items[:-_NEXT_POST]}]}}'.encode()


def split_post_items(raw: object) -> tuple[list[str], list[str]] | None:
    """A JSON list of ``{"post", "account"}`` objects as two lists of the raw values (checked
    by :func:`parse_account_list` next), or None if any item has another shape."""
    if type(raw) is not list or not 1 <= len(raw) <= MAX_BATCH:
        return None
    try:
        # A str or list item raises TypeError here, a dict without either key KeyError.
        posts = [item["post"] for item in raw]
        authors = [item["account"] for item in raw]
    except (TypeError, KeyError):
        return None
    # Every item has both keys: only an item with others besides is longer than two.
    if sum(map(len, raw)) != 2 * len(raw):
        return None
    return posts, authors


# The head of a post batch as encoders write it (compact, or with any JSON whitespace), keys in
# the schema's order; the compiled scanner reads the items that follow.
_POST_BATCH_HEAD: Final = re.compile(
    rb'[ \t\n\r]*\{[ \t\n\r]*"country"[ \t\n\r]*:[ \t\n\r]*"([A-Za-z]{2})"'
    rb'[ \t\n\r]*,[ \t\n\r]*"posts"[ \t\n\r]*:[ \t\n\r]*\['
)
_ENDINGS: Final = tuple(ending[: -len(',{"post":"')].encode() for ending in _AFTER_AUTHOR)


@dataclass(frozen=True, slots=True)
class PostBatch:
    """A ``POST /visible`` post batch read straight from its bytes, without a JSON parse."""

    country: str
    posts: NDArray[np.uint64]
    authors: NDArray[np.uint64]
    body: bytes
    items_at: int


def scan_post_batch(body: bytes) -> PostBatch | None:
    """A post batch whose items are exactly ``{"post", "account"}`` with canonical ids, read by
    the compiled scanner; None for anything else, or without the compiled probe (the caller then
    parses the body as JSON, which answers the same, only slower)."""
    head = _POST_BATCH_HEAD.match(body)
    if scan_post_items is None or head is None:
        return None
    try:
        country = parse_viewer_country(head[1].decode())
    except ValueError:
        return None
    ids = scan_post_items(body, head.end(), MAX_BATCH)
    if ids is None:
        return None
    pairs = np.frombuffer(ids, dtype=np.uint64)
    return PostBatch(country, pairs[0::2], pairs[1::2], body, head.end())


def render_scanned_post_batch(
    batch: PostBatch, author_withheld: NDArray[np.bool_], post_withheld: NDArray[np.bool_]
) -> bytes:
    """:func:`render_post_batch`'s bytes for a scanned batch, written by the compiled renderer."""
    assert render_post_items is not None  # a PostBatch exists only where it is compiled
    codes = post_scope_codes(author_withheld, post_withheld)
    items = render_post_items(batch.body, batch.items_at, codes, _ENDINGS)
    return b'{"country":"%s","results":[%s]}' % (batch.country.encode(), items)
