"""A client that sends the headers and part of a body, then stops, gets 408 once
``WITHHELD_REQUEST_READ_TIMEOUT_S`` pass without progress, and its connection is closed; other
requests are served meanwhile. Under uvicorn and granian (ASGI and RSGI) alike, on the fast
path's POST /visible and on a FastAPI route."""

from __future__ import annotations

import socket
import time

import httpx
import orjson
import pytest

from tests.support.servers import running
from tests.support.tokens import ADMIN_TOKEN, SERVER_TOKENS_ENV

pytestmark = pytest.mark.slow

TIMEOUT_S = 1.0
# The server answers within the timeout plus its scheduling; far below this bound.
ANSWERED_WITHIN_S = TIMEOUT_S + 5


def _half_sent(port: int, path: str) -> tuple[bytes, float, bool]:
    """Send a POST whose body stops halfway; what the server answered, after how long, and
    whether it then closed the connection."""
    body = orjson.dumps({"country": "IN", "accounts": ["12"] * 50})
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWERED_WITHIN_S) as client:
        started = time.monotonic()
        client.sendall(head + body[: len(body) // 2])
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = client.recv(65536)
            if not chunk:
                return received, time.monotonic() - started, True
            received += chunk
        took = time.monotonic() - started
        try:
            closed = client.recv(65536) == b""
        except TimeoutError:
            closed = False
        return received, took, closed


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


@pytest.mark.parametrize("kind", ["uvicorn", "granian", "granian-rsgi"])
@pytest.mark.parametrize("path", ["/visible", "/withholdings/bulk"])
def test_a_stalled_body_gets_408_and_its_connection_closed(
    database_url: str, kind: str, path: str
) -> None:
    env = {**SERVER_TOKENS_ENV, "WITHHELD_REQUEST_READ_TIMEOUT_S": str(TIMEOUT_S)}
    with running(database_url, env=env, kinds=[kind]) as (server,):
        response, took, closed = _half_sent(server.port, path)
        status_line, _, _ = response.partition(b"\r\n")
        assert b" 408 " in status_line, response
        body = orjson.loads(response.partition(b"\r\n\r\n")[2])
        assert "request body" in body["detail"]
        assert TIMEOUT_S <= took < ANSWERED_WITHIN_S
        assert closed
        # Nothing was written, and the server still answers everyone else.
        lookup = httpx.get(f"{server.url}/visible?account=12&country=IN", timeout=5)
        assert lookup.json()["visible"] is True


def test_the_timeout_is_a_setting_with_a_default() -> None:
    from app.config import Settings

    assert Settings().request_read_timeout_s == 10.0
    with pytest.raises(ValueError, match="request_read_timeout_s"):
        Settings(request_read_timeout_s=0)
