"""The hot path: ``GET /visible`` and ``POST /visible`` answered before FastAPI sees the request.

A typed FastAPI route costs ~4x a bare ASGI app per request, and pydantic validation of 10,000
ids costs more than the lookups. This layer does what the routes do for well-formed requests
(parse, validate, look up in the index, shape the JSON) and hands everything else — bad input,
percent-encoding, a ``min_revision`` this process has not reached, any other parameter — to the
documented FastAPI routes (``app.api.visibility``), which produce identical answers and every
error. ``tests/integration/test_hotpath.py`` checks the two agree byte for byte.

The common query (``account=<id>&country=<cc>``, nothing else) is answered in one call:
``QueryAnswerer.answer(query, index.probe)`` (``app/index/_probe.c``) parses it, looks the
account up and writes the body. Without a C compiler, ``answer_common_query`` does the same in
Python. Any other query that the fast path may answer goes through ``answer_other_query``.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Final

import orjson

from app.edge.bodies import (
    parse_account_list,
    render_batch,
    render_post_batch,
    render_scanned_post_batch,
    scan_post_batch,
    split_post_items,
)
from app.edge.layers import (
    ASGIApp,
    BodyTimeoutError,
    Receive,
    Scope,
    Send,
    read_body,
    replaying,
    send_body_timeout,
)
from app.edge.metrics import RequestStats
from app.identifiers import parse_viewer_country
from app.index import DecimalProbe, QueryAnswerer
from app.iso3166 import COUNTRY_CODES
from app.replication.replica import Replica

_JSON: Final = (b"content-type", b"application/json")
_SHOWN: Final = b'","visible":true}'
_HIDDEN: Final = b'","visible":false}'


_Spelling = tuple[str, bytes, bytes]


def _country_spellings() -> dict[bytes, _Spelling]:
    """Every accepted spelling of a viewer country (any case), to its code and the two ways
    a GET body can end after the account id (visible, withheld)."""
    spellings: dict[bytes, _Spelling] = {}
    for code in COUNTRY_CODES:
        a, b = code[0], code[1]
        shown = b'","country":"' + code.encode() + _SHOWN
        hidden = b'","country":"' + code.encode() + _HIDDEN
        for first in {a, a.lower()}:
            for second in {b, b.lower()}:
                spellings[(first + second).encode()] = (code, shown, hidden)
    return spellings


_COUNTRIES: Final = _country_spellings()
_ACCOUNT_BATCH: Final = {"country", "accounts"}
_POST_BATCH: Final = {"country", "posts"}
_UNANSWERABLE: Final[tuple[bytes, bytes | None, _Spelling | None]] = (b"", None, None)
# The same, keyed by how the common query ends ("&country=IN"): one slice and one dict lookup
# both find the country and check the query's shape (bytes.find alone costs more).
_COUNTRY_SUFFIX: Final = len(b"&country=IN")
_COUNTRY_ENDINGS: Final = {b"&country=" + spelling: value for spelling, value in _COUNTRIES.items()}
_ACCOUNT_OPEN: Final = b'{"account":"'
# content-length headers for every body size a GET can have (ids of 1..19 digits).
_CONTENT_LENGTHS: Final = [(b"content-length", b"%d" % size) for size in range(128)]


def answer_common_query(query: bytes, probe: DecimalProbe) -> bytes | None:
    """The body for ``account=<id>&country=<cc>`` exactly, else None: the Python twin of the
    compiled ``QueryAnswerer.answer`` (tests/unit/test_hotpath_probe.py holds them equal)."""
    spelling = _COUNTRY_ENDINGS.get(query[-_COUNTRY_SUFFIX:])
    if spelling is None or query[:8] != b"account=":
        return None
    return _visibility_body(query[8:-_COUNTRY_SUFFIX], spelling, probe)


def _visibility_body(account_raw: bytes, spelling: _Spelling, probe: DecimalProbe) -> bytes | None:
    """The body for an account (as the query wrote it) in a country, else None."""
    country, shown, hidden = spelling
    withheld = probe.withheld_decimal(account_raw, country)
    if withheld is None:
        return None
    return b"".join((_ACCOUNT_OPEN, account_raw, hidden if withheld else shown))


def _post_endings(code: str) -> tuple[bytes, bytes, bytes]:
    """How a post lookup's body ends after the post id: visible, hidden by its author, by
    itself (as ``bodies.render_post_visibility`` writes them)."""
    head = b'","country":"' + code.encode() + b'","visible":'
    return head + b"true}", head + b'false,"scope":"account"}', head + b'false,"scope":"post"}'


_POST_ENDINGS: Final = {code: _post_endings(code) for code in COUNTRY_CODES}
_POST_KEY: Final = b"&post="
_POST_OPEN: Final = b'","post":"'


def answer_post_query(query: bytes, accounts: DecimalProbe, posts: DecimalProbe) -> bytes | None:
    """The body for ``account=<id>&post=<id>&country=<cc>`` exactly, else None: the Python twin
    of the compiled ``QueryAnswerer.answer_post`` (tests/unit/test_post_probe.py)."""
    spelling = _COUNTRY_ENDINGS.get(query[-_COUNTRY_SUFFIX:])
    if spelling is None or query[:8] != b"account=":
        return None
    account_raw, key, post_raw = query[8:-_COUNTRY_SUFFIX].partition(_POST_KEY)
    if not key:
        return None
    return _post_body(account_raw, post_raw, spelling[0], accounts, posts)


def _post_body(
    account_raw: bytes,
    post_raw: bytes,
    country: str,
    accounts: DecimalProbe,
    posts: DecimalProbe,
) -> bytes | None:
    """The body for a post (ids as the query wrote them) in a country, else None."""
    author_withheld = accounts.withheld_decimal(account_raw, country)
    post_withheld = posts.withheld_decimal(post_raw, country)
    if author_withheld is None or post_withheld is None:
        return None
    shown, by_author, by_post = _POST_ENDINGS[country]
    ending = by_author if author_withheld else by_post if post_withheld else shown
    return b"".join((_ACCOUNT_OPEN, account_raw, _POST_OPEN, post_raw, ending))


AnswerQuery = Callable[[bytes, DecimalProbe], bytes | None]
answer_query: Final[AnswerQuery] = (
    QueryAnswerer(sorted(COUNTRY_CODES)).answer
    if QueryAnswerer is not None
    else answer_common_query
)
"""What the fast path calls for each GET: compiled when ``app.index.COMPILED_PROBE``."""
AnswerPostQuery = Callable[[bytes, DecimalProbe, DecimalProbe], bytes | None]
answer_post: Final[AnswerPostQuery] = (
    QueryAnswerer(sorted(COUNTRY_CODES)).answer_post
    if QueryAnswerer is not None
    else answer_post_query
)
"""The same for a post's common query (``answer_post_query`` is its Python twin)."""


class FastPath:
    def __init__(
        self,
        app: ASGIApp,
        replica: Replica,
        stats: RequestStats,
        *,
        max_body_bytes: int,
        read_timeout_s: float,
    ) -> None:
        self.app = app
        self.replica = replica
        self.stats = stats
        self.max_body_bytes = max_body_bytes
        self.read_timeout_s = read_timeout_s
        self.asgi = self._entry()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)

    def _entry(self) -> ASGIApp:
        """The ASGI callable that servers run (``app.main:app``).

        A coroutine function, not this object: a server calls a function for fewer machine
        instructions than an object's ``__call__`` (``bench.instruction_count`` counts them),
        and a closure reads what every lookup needs without attribute lookups on ``self``.
        """
        replica = self.replica
        fallback = self.app
        batch = self._batch
        answer = answer_query
        answer_for_post = answer_post
        answer_other = self.answer_other_query
        record_latency = self.stats.bind("/visible", "GET", 200).append
        seen_revision = -1
        revision_header = (b"x-withheld-revision", b"0")

        async def visibility_fast_path(scope: Scope, receive: Receive, send: Send) -> None:
            # Everything here runs for every lookup: operations are counted (callgrind), so
            # the common GET is written out in one frame.
            nonlocal seen_revision, revision_header
            if scope["type"] == "http" and scope["path"] == "/visible":
                method = scope["method"]
                if method == "GET":
                    started = perf_counter()
                    if replica.loaded:
                        query = scope["query_string"]
                        # None: another query shape, or one only the route can answer.
                        indexes = replica.indexes
                        accounts_probe = indexes.accounts.probe
                        body = (
                            answer(query, accounts_probe)
                            or answer_for_post(query, accounts_probe, indexes.posts.probe)
                            or answer_other(query)
                        )
                        if body is not None:
                            if replica.revision != seen_revision:
                                seen_revision = replica.revision
                                revision_header = (
                                    b"x-withheld-revision",
                                    b"%d" % seen_revision,
                                )
                            await send(
                                {
                                    "type": "http.response.start",
                                    "status": 200,
                                    "headers": [
                                        _JSON,
                                        _CONTENT_LENGTHS[len(body)],
                                        revision_header,
                                    ],
                                }
                            )
                            await send({"type": "http.response.body", "body": body})
                            record_latency(perf_counter() - started)
                            return
                elif method == "POST":
                    await batch(scope, receive, send)
                    return
            await fallback(scope, receive, send)

        return visibility_fast_path

    def answer_other_query(self, query: bytes) -> bytes | None:
        """The body for a query the fast path may answer in another shape (a post's lookup,
        parameters in another order, ``min_revision`` already reached), else None: the route
        answers."""
        replica = self.replica
        account_raw, post_raw, spelling = self._split_query(query)
        if spelling is None:
            return None
        if post_raw is not None:
            return _post_body(
                account_raw, post_raw, spelling[0], replica.index.probe, replica.posts.probe
            )
        return _visibility_body(account_raw, spelling, replica.index.probe)

    async def _send(self, send: Send, body: bytes, *, started: float | None = None) -> None:
        headers = [
            _JSON,
            (b"content-length", b"%d" % len(body)),
            (b"x-withheld-revision", b"%d" % self.replica.revision),
        ]
        if started is not None:
            elapsed_ms = (perf_counter() - started) * 1000
            headers.append((b"server-timing", b"app;dur=%.3f" % elapsed_ms))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _fresh_enough(self, query: bytes) -> bool:
        """Only an empty query or a ``min_revision`` already reached stays on the fast path."""
        if not query:
            return True
        name, _, value = query.partition(b"=")
        return (
            name == b"min_revision"
            and value.isdigit()
            and len(value) < 19
            and int(value) <= self.replica.revision
        )

    def _split_query(self, query: bytes) -> tuple[bytes, bytes | None, _Spelling | None]:
        """The account, the post (None without one) and the country's spelling (see
        ``_COUNTRIES``) from any other query; the spelling is None unless the fast path may
        answer it."""
        if b"%" in query or b"+" in query:
            return _UNANSWERABLE
        account_raw = post_raw = country_raw = None
        for part in query.split(b"&"):
            name, _, value = part.partition(b"=")
            if name == b"account" and account_raw is None:
                account_raw = value
            elif name == b"post" and post_raw is None:
                post_raw = value
            elif name == b"country" and country_raw is None:
                country_raw = value
            elif not self._fresh_enough(part):
                return _UNANSWERABLE
        if account_raw is None or country_raw is None:
            return _UNANSWERABLE
        return account_raw, post_raw, _COUNTRIES.get(country_raw)

    async def _batch(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            read = await read_body(receive, self.max_body_bytes, self.read_timeout_s)
        except BodyTimeoutError:
            await send_body_timeout(send, self.read_timeout_s)
            self.stats.observe("/visible", "POST", 408, 0.0)
            return
        if read is None:
            return
        body, ended = read
        if ended and len(body) <= self.max_body_bytes:
            started = perf_counter()
            answer = self._answer_batch(scope["query_string"], body)
            if answer is not None:
                await self._send(send, answer, started=started)
                self.stats.observe("/visible", "POST", 200, perf_counter() - started)
                return
        # Anything else (errors, a body over the limit) is the route's and BodyLimit's to answer.
        await self.app(scope, replaying(body, receive, more=not ended), send)

    def _answer_batch(self, query: bytes, body: bytes) -> bytes | None:
        if not self.replica.loaded or not self._fresh_enough(query):
            return None
        scanned = scan_post_batch(body)
        if scanned is not None:
            return render_scanned_post_batch(
                scanned,
                self.replica.index.withheld_many(scanned.authors, scanned.country),
                self.replica.posts.withheld_many(scanned.posts, scanned.country),
            )
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if type(request) is not dict:
            return None
        keys = request.keys()
        if keys != _ACCOUNT_BATCH and keys != _POST_BATCH:
            return None
        try:
            country = parse_viewer_country(request["country"])
        except ValueError:
            return None
        index = self.replica.index
        if keys == _POST_BATCH:
            items = split_post_items(request["posts"])
            if items is None:
                return None
            posts, authors = items
            post_ids, author_ids = parse_account_list(posts), parse_account_list(authors)
            if post_ids is None or author_ids is None:
                return None
            author_withheld = index.withheld_many(author_ids, country)
            post_withheld = self.replica.posts.withheld_many(post_ids, country)
            return render_post_batch(country, posts, authors, author_withheld, post_withheld)
        accounts = request["accounts"]
        ids = parse_account_list(accounts)
        if ids is None:
            return None
        withheld = index.withheld_many(ids, country)
        return render_batch(country, accounts, withheld)
