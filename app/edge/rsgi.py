"""The service under granian's RSGI interface: ``granian --interface rsgi app.main:rsgi_app``.

RSGI hands the application the request as one object and takes the response in one call, where
ASGI passes dicts through several awaits: past what any ASGI app can reach. GET /visible's common
queries are answered natively here (the same probes and bodies as the ASGI fast path); every other
request runs the ASGI application (``FastPath`` and the FastAPI app behind it) through a small
adapter, so routes, OpenAPI, metrics, body limits and timeouts behave exactly as under uvicorn.
The ASGI lifespan runs in ``__rsgi_init__`` / ``__rsgi_del__``, before the first request and
after the last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, Final, Protocol

from app.edge.fast_path import FastPath, answer_post, answer_query
from app.edge.layers import ASGIApp, Message

log = logging.getLogger("withheld.rsgi")

_JSON: Final = ("content-type", "application/json")
_ASGI_VERSION: Final = {"version": "3.0", "spec_version": "2.3"}


class RsgiScope(Protocol):
    proto: str
    http_version: str
    client: str
    server: str
    scheme: str
    method: str
    path: str
    query_string: str
    headers: Any


class Lifespan:
    """Runs an ASGI app's lifespan on a loop that is not running yet (RSGI's init hook)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[Message] | None = None
        self._replies: asyncio.Queue[Message] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _exchange(self, kind: str) -> None:
        assert self._inbox is not None
        assert self._replies is not None
        assert self._task is not None
        await self._inbox.put({"type": f"lifespan.{kind}"})
        reply = asyncio.ensure_future(self._replies.get())
        await asyncio.wait([reply, self._task], return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():
            reply.cancel()
            self._task.result()  # the lifespan raised: say why
            raise RuntimeError(f"the ASGI lifespan ended during {kind}")
        message = reply.result()
        if message["type"] != f"lifespan.{kind}.complete":
            raise RuntimeError(f"ASGI lifespan {kind} failed: {message.get('message', '')}")

    async def startup(self) -> None:
        self._inbox, self._replies = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": _ASGI_VERSION, "state": self.state}
        self._task = asyncio.ensure_future(self.app(scope, self._inbox.get, self._replies.put))
        await self._exchange("startup")

    async def shutdown(self) -> None:
        if self._task is not None and not self._task.done():
            await self._exchange("shutdown")


def _address(text: str) -> tuple[str, int] | None:
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port)) if port.isdigit() else None


class RsgiApp:
    """``app.main:rsgi_app``: the RSGI application granian runs."""

    def __init__(self, service: FastPath) -> None:
        self.service = service
        self.asgi = service.asgi
        self.lifespan = Lifespan(service.asgi)
        self.__rsgi__ = self._entry()

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self.lifespan.startup())

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self.lifespan.shutdown())

    async def __call__(self, scope: RsgiScope, protocol: Any) -> None:
        await self.__rsgi__(scope, protocol)

    def _entry(self) -> Callable[[RsgiScope, Any], Awaitable[None]]:
        """The per-request callable (a closure, as the ASGI fast path is: see ``FastPath``)."""
        service = self.service
        replica = service.replica
        answer_other = service.answer_other_query
        record_latency = service.stats.bind("/visible", "GET", 200).append
        via_asgi = self._via_asgi
        seen_revision = -1
        headers = [_JSON, ("x-withheld-revision", "0")]

        async def visibility_rsgi(scope: RsgiScope, protocol: Any) -> None:
            nonlocal seen_revision, headers
            if scope.path == "/visible" and scope.method == "GET" and replica.loaded:
                started = perf_counter()
                query = scope.query_string.encode()
                indexes = replica.indexes
                accounts_probe = indexes.accounts.probe
                body = (
                    answer_query(query, accounts_probe)
                    or answer_post(query, accounts_probe, indexes.posts.probe)
                    or answer_other(query)
                )
                if body is not None:
                    if replica.revision != seen_revision:
                        seen_revision = replica.revision
                        headers = [_JSON, ("x-withheld-revision", str(seen_revision))]
                    protocol.response_bytes(200, headers, body)
                    record_latency(perf_counter() - started)
                    return
            await via_asgi(scope, protocol)

        return visibility_rsgi

    async def _via_asgi(self, scope: RsgiScope, protocol: Any) -> None:
        """One request through the ASGI application."""
        if scope.proto != "http":  # no WebSocket routes
            protocol.close(1008)
            return
        asgi_scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI_VERSION,
            "http_version": scope.http_version,
            "method": scope.method,
            "scheme": scope.scheme,
            "path": scope.path,
            "raw_path": scope.path.encode(),
            "query_string": scope.query_string.encode(),
            "root_path": "",
            "headers": [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in scope.headers.items()
            ],
            "client": _address(scope.client),
            "server": _address(scope.server),
            "state": dict(self.lifespan.state),
        }
        chunks = protocol.__aiter__()
        body_ended = False

        async def receive() -> Message:
            nonlocal body_ended
            if not body_ended:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    body_ended = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                return {"type": "http.request", "body": bytes(chunk), "more_body": True}
            await protocol.client_disconnect()
            return {"type": "http.disconnect"}

        status = 500
        headers: list[tuple[str, str]] = []
        stream: Any = None
        responded = False

        async def send(message: Message) -> None:
            nonlocal status, headers, stream, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body" and not responded:
                body = message.get("body", b"")
                if message.get("more_body", False) or stream is not None:
                    if stream is None:
                        stream = protocol.response_stream(status, headers)
                    if body:
                        await stream.send_bytes(body)
                    responded = not message.get("more_body", False)
                else:
                    protocol.response_bytes(status, headers, body)
                    responded = True

        try:
            await self.asgi(asgi_scope, receive, send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.method, scope.path)
            if stream is None and not responded:
                protocol.response_bytes(
                    500, [("content-type", "text/plain")], b"Internal Server Error"
                )
            return
        if stream is None and not responded:
            protocol.response_empty(500, [])
