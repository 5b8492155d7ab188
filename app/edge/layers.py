"""Plain ASGI layers that wrap the FastAPI app: they run before routing and cost almost nothing.

``BodyLimit`` buffers request bodies up to a bound (413 beyond it, whether the client sent a
Content-Length or streamed chunks) — FastAPI itself has no limit — and within a time: a body
that stops arriving gets 408 (servers bound idle connections, not a half-sent request).
``RevisionHeader`` stamps every response with the changelog revision this process reflects,
unless the handler set its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Final

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.process import in_thread

__all__ = ["ASGIApp", "BodyLimit", "Message", "Receive", "RevisionHeader", "Scope", "Send"]

REVISION_HEADER = b"x-withheld-revision"
# From this size CPython's bytes.join copies without the GIL: a large body is joined in a
# worker thread, where writing megabytes of fresh memory (page faults) holds no lookup up.
JOIN_OFF_LOOP_BYTES: Final = 1 << 20


async def send_json(
    send: Send, status: int, payload: object, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTimeoutError(Exception):
    """The client sent part of a body, then nothing for the read timeout."""


async def read_body(receive: Receive, limit: int, timeout_s: float) -> tuple[bytes, bool] | None:
    """The request body, read until it ends or exceeds ``limit`` bytes.

    Returns ``(body, ended)`` — ``ended`` is False when reading stopped at the limit with more
    to come — or None if the client went away. Callers compare ``len(body)`` with the limit.
    Raises ``BodyTimeoutError`` when ``timeout_s`` pass without a chunk.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                message = await receive()
        except TimeoutError:
            raise BodyTimeoutError from None
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return await _joined(chunks, size), True
        if size > limit:
            return await _joined(chunks, size), False


async def _joined(chunks: list[bytes], size: int) -> bytes:
    if size < JOIN_OFF_LOOP_BYTES or len(chunks) == 1:
        return b"".join(chunks)
    return await in_thread(partial(b"".join, chunks))


def replaying(body: bytes, receive: Receive, *, more: bool = False) -> Receive:
    """A ``receive`` that hands out ``body`` first, then whatever the client sends next."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def send_body_timeout(send: Send, timeout_s: float) -> None:
    """408, and the connection closed: what is left of the body will not be read."""
    detail = {"detail": f"request body: nothing received for {timeout_s:g} s"}
    await send_json(send, 408, detail, [(b"connection", b"close")])


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, read_timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    def _too_large(self) -> dict[str, str]:
        return {"detail": f"request body exceeds {self.max_bytes} bytes"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json(send, 400, {"detail": "invalid Content-Length header"})
                    return
                if declared > self.max_bytes:
                    await send_json(send, 413, self._too_large(), [(b"connection", b"close")])
                    return
        try:
            read = await read_body(receive, self.max_bytes, self.read_timeout_s)
        except BodyTimeoutError:
            await send_body_timeout(send, self.read_timeout_s)
            return
        if read is None:
            return
        body, _ = read
        if len(body) > self.max_bytes:
            await send_json(send, 413, self._too_large(), [(b"connection", b"close")])
            return
        await self.app(scope, replaying(body, receive), send)


class RevisionHeader:
    def __init__(self, app: ASGIApp, *, revision: Callable[[], int]) -> None:
        self.app = app
        self.revision = revision

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name == REVISION_HEADER for name, _ in headers):
                    headers.append((REVISION_HEADER, str(self.revision()).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)
