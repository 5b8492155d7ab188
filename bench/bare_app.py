"""The baseline: a bare ASGI callable, the ceiling for a Python ASGI app on one core.

It answers every HTTP request with one fixed JSON body of the shape ``GET /visible`` returns,
whatever the method or path (so ``/readyz`` is 200 as soon as it listens). A request body is read
to its end and ignored, so posting the same body here as to the service measures the transport
alone. No routing, no parsing, no framework:

    .venv/bin/python -m uvicorn bench.bare_app:app --no-access-log --log-level warning
    .venv/bin/python -m granian --interface asgi bench.bare_app:app --log-level warning
    .venv/bin/python -m granian --interface rsgi bench.bare_app:rsgi_app --log-level warning

``rsgi_app`` is the same under granian's RSGI interface: the ceiling for any Python app there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

# Its own ASGI types: importing nothing from the service keeps its start-up time a fair baseline.
Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY: Final = b'{"account":"1356948273645182976","country":"IN","visible":true}'
_HEADERS: Final = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]
_BODYLESS: Final = frozenset({"GET", "HEAD"})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        if scope["method"] not in _BODYLESS:
            while (await receive()).get("more_body", False):
                pass
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": BODY})
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


_RSGI_HEADERS: Final = [("content-type", "application/json")]


async def rsgi_app(scope: Any, protocol: Any) -> None:
    """The same answer through RSGI (granian sets content-length for a whole body)."""
    if scope.proto == "http":
        if scope.method not in _BODYLESS:
            await protocol()
        protocol.response_bytes(200, _RSGI_HEADERS, BODY)
