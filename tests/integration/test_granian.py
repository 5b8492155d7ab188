"""Granian holds the whole HTTP contract that uvicorn does, under its ASGI interface
(``app.main:app``) and its RSGI one (``app.main:rsgi_app``) alike: the same answers byte for
byte on one database, counters that add up across its workers, a clean exit on SIGTERM, and
`withheld serve --server granian` (RSGI). Every server listens on 127.0.0.1 only."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.metrics import (
    assert_two_worker_totals,
    published,
    requests_by_worker,
    samples,
    send_traffic,
)
from tests.support.servers import cli_env, cli_serving, running, wait_cli_ready
from tests.support.tokens import AUTH, SERVER_TOKENS_ENV
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

# Granian's two interfaces: every test here runs under both.
GRANIAN_KINDS = pytest.mark.parametrize("granian_kind", ["granian", "granian-rsgi"])

JSON = {"content-type": "application/json"}
MAX_BODY = 8 * 1024 * 1024  # WITHHELD_MAX_BODY_BYTES default
# Headers that name the server or the moment, not the answer.
TRANSPORT_HEADERS = {"date", "server"}
# The app's own timing: present on both, its value differs between any two requests.
TIMING_HEADERS = {"server-timing"}


# -- a) the same answers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    target: str
    status: int  # what both servers answer (pinned, so both failing alike cannot pass)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # send the body as Transfer-Encoding: chunked, in two pieces

    def send(self, http: httpx.Client, base: str) -> httpx.Response:
        content: bytes | Iterator[bytes] | None = self.body
        if self.chunked and self.body is not None:
            half = len(self.body) // 2
            content = iter([self.body[:half], self.body[half:]])
        return http.request(self.method, base + self.target, content=content, headers=self.headers)


def _batch(country: str, accounts: list[object]) -> bytes:
    return json.dumps({"country": country, "accounts": accounts}).encode()


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode()


# Rules written before comparing (through uvicorn): 12 in IN, 13 everywhere, the largest id in DE.
SEEDED = [("12", "IN"), ("13", "XX"), ("9223372036854775807", "DE")]
TOO_MANY = _batch("IN", [str(n) for n in range(1, 10_002)])
TOO_LARGE = b" " * (MAX_BODY + 1)
WRITE = {**JSON, **AUTH}
CALLS: dict[str, Call] = {
    # GET /visible: hits and misses, spellings, extra and repeated parameters, percent-encoding
    "withheld": Call("GET", "/visible?account=12&country=IN", 200),
    "visible": Call("GET", "/visible?account=12&country=US", 200),
    "withheld everywhere": Call("GET", "/visible?account=13&country=FR", 200),
    "largest id": Call("GET", "/visible?account=9223372036854775807&country=DE", 200),
    "unknown account": Call("GET", "/visible?account=14&country=IN", 200),
    "lowercase country": Call("GET", "/visible?account=12&country=in", 200),
    "mixed-case country": Call("GET", "/visible?account=12&country=iN", 200),
    "parameters reversed": Call("GET", "/visible?country=IN&account=12", 200),
    "extra parameter": Call("GET", "/visible?account=12&country=IN&x=1", 200),
    "account twice": Call("GET", "/visible?account=12&account=13&country=IN", 200),
    "country twice": Call("GET", "/visible?account=12&country=IN&country=US", 200),
    "percent-encoded": Call("GET", "/visible?account=%31%32&country=%49N", 200),
    "percent-encoded lowercase": Call("GET", "/visible?account=12&country=%69%6e", 200),
    "min_revision reached": Call("GET", "/visible?account=12&country=IN&min_revision=0", 200),
    # GET /visible: bad inputs
    "missing account": Call("GET", "/visible?country=IN", 422),
    "missing both": Call("GET", "/visible", 422),
    "empty account": Call("GET", "/visible?account=&country=IN", 422),
    "unknown country": Call("GET", "/visible?account=12&country=ZZ", 422),
    "XX as viewer country": Call("GET", "/visible?account=12&country=XX", 422),
    "three-letter country": Call("GET", "/visible?account=12&country=IND", 422),
    "plus is a space": Call("GET", "/visible?account=12&country=+IN", 422),
    "non-ascii country": Call("GET", "/visible?account=12&country=%C3%A9", 422),
    "bad percent-encoding": Call("GET", "/visible?account=12&country=%zz", 422),
    "leading zero": Call("GET", "/visible?account=012&country=IN", 422),
    "zero": Call("GET", "/visible?account=0&country=IN", 422),
    "negative": Call("GET", "/visible?account=-1&country=IN", 422),
    "exponent": Call("GET", "/visible?account=1e5&country=IN", 422),
    "too large id": Call("GET", "/visible?account=9223372036854775808&country=IN", 422),
    "min_revision not a number": Call(
        "GET", "/visible?account=12&country=IN&min_revision=abc", 422
    ),
    "min_revision negative": Call("GET", "/visible?account=12&country=IN&min_revision=-1", 422),
    "min_revision not reached": Call(
        "GET", "/visible?account=12&country=IN&min_revision=999999", 503
    ),
    # POST /visible
    "batch": Call("POST", "/visible", 200, _batch("IN", ["12", "13", "14", "12"]), JSON),
    "batch lowercase country": Call("POST", "/visible", 200, _batch("in", ["12"]), JSON),
    "batch chunked": Call("POST", "/visible", 200, _batch("IN", ["12", "14"]), JSON, True),
    "batch min_revision": Call("POST", "/visible?min_revision=0", 200, _batch("IN", ["12"]), JSON),
    "batch 10,000 ids": Call(
        "POST", "/visible", 200, _batch("IN", [str(n) for n in range(1, 10_001)]), JSON
    ),
    "batch as text/plain": Call(
        "POST", "/visible", 200, _batch("IN", ["12"]), {"content-type": "text/plain"}
    ),
    "batch invalid JSON": Call("POST", "/visible", 422, b"{not json", JSON),
    "batch empty body": Call("POST", "/visible", 422, b"", JSON),
    "batch number ids": Call("POST", "/visible", 422, _batch("IN", [12]), JSON),
    "batch null id": Call("POST", "/visible", 422, _batch("IN", [None]), JSON),
    "batch ids not a list": Call(
        "POST", "/visible", 422, _json({"country": "IN", "accounts": "12"}), JSON
    ),
    "batch no ids": Call("POST", "/visible", 422, _batch("IN", []), JSON),
    "batch leading zero": Call("POST", "/visible", 422, _batch("IN", ["012"]), JSON),
    "batch bad country": Call("POST", "/visible", 422, _batch("ZZ", ["12"]), JSON),
    "batch missing country": Call("POST", "/visible", 422, _json({"accounts": ["12"]}), JSON),
    "batch is a list": Call("POST", "/visible", 422, b'["12"]', JSON),
    "batch too many ids": Call("POST", "/visible", 422, TOO_MANY, JSON),
    "batch too many ids chunked": Call("POST", "/visible", 422, TOO_MANY, JSON, True),
    "body too large": Call("POST", "/visible", 413, TOO_LARGE, JSON),
    "body too large chunked": Call("POST", "/visible", 413, TOO_LARGE, JSON, True),
    # posts: the lookup, its bad input, the batch
    "post withheld": Call("GET", "/visible?account=12&post=99&country=IN", 200),
    "post of a withheld author": Call("GET", "/visible?account=13&post=98&country=FR", 200),
    "post visible": Call("GET", "/visible?account=14&post=97&country=IN", 200),
    "post without account": Call("GET", "/visible?post=99&country=IN", 422),
    "post leading zero": Call("GET", "/visible?account=12&post=099&country=IN", 422),
    "post batch": Call(
        "POST",
        "/visible",
        200,
        _json({"country": "IN", "posts": [{"post": "99", "account": "12"}] * 3}),
        JSON,
    ),
    "post batch spaced": Call(
        "POST",
        "/visible",
        200,
        b'{"country": "in", "posts": [{"post": "99", "account": "14"}]}',
        JSON,
    ),
    "post batch without account": Call(
        "POST", "/visible", 422, _json({"country": "IN", "posts": [{"post": "99"}]}), JSON
    ),
    "post rules": Call("GET", "/posts/99/withholdings", 200),
    # hashtags: percent-encoded UTF-8 in paths and queries
    "hashtag restricted": Call("GET", "/hashtags/eligible?hashtag=%23Farmers&country=IN", 200),
    "hashtag full-width": Call("GET", "/hashtags/eligible?hashtag=%EF%BC%A6armers&country=IN", 200),
    "hashtag invalid": Call("GET", "/hashtags/eligible?hashtag=a-b&country=IN", 422),
    "hashtag restrictions": Call("GET", "/hashtags/%23FARMERS/restrictions", 200),
    "hashtag batch": Call(
        "POST",
        "/hashtags/eligible",
        200,
        _json({"country": "IN", "hashtags": ["#Farmers", "cricket", "किसान_आंदोलन"]}),
        JSON,
    ),
    # rules: reads, and writes refused before they change anything
    "rules of an account": Call("GET", "/accounts/12/withholdings", 200),
    "rules with lifted": Call("GET", "/accounts/12/withholdings?include_lifted=true", 200),
    "rules of a bad account": Call("GET", "/accounts/012/withholdings", 422),
    "write without token": Call("PUT", "/accounts/15/withholdings/IN", 401, b'{"reason":"t"}'),
    "write with a wrong token": Call(
        "PUT",
        "/accounts/15/withholdings/IN",
        401,
        b'{"reason":"t"}',
        {**JSON, "Authorization": "Bearer not-a-token-of-this-server"},
    ),
    "write without reason": Call("PUT", "/accounts/15/withholdings/IN", 422, b"{}", WRITE),
    "write bad country": Call("PUT", "/accounts/15/withholdings/ZZ", 422, b'{"reason":"t"}', WRITE),
    "write invalid JSON": Call("PUT", "/accounts/15/withholdings/IN", 422, b"{", WRITE),
    "lift without a rule": Call("DELETE", "/accounts/15/withholdings/IN", 404, None, AUTH),
    # routing, operations and documents
    "unknown path": Call("GET", "/nothing-here", 404),
    "trailing slash": Call("GET", "/visible/?account=12&country=IN", 307),
    "method not allowed": Call("DELETE", "/visible", 405),
    "method not allowed on a rule": Call("POST", "/accounts/12/withholdings/IN", 405),
    "HEAD": Call("HEAD", "/healthz", 405),
    "healthz": Call("GET", "/healthz", 200),
    "readyz": Call("GET", "/readyz", 200),
    "openapi": Call("GET", "/openapi.json", 200),
    "docs": Call("GET", "/docs", 200),
}


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    """Every header (repeats kept) except the transport's own; timing headers by name only;
    the server's own address (each listens on its own port; a redirect names it) as BASE."""
    base = f"{response.request.url.scheme}://{response.request.url.netloc.decode()}"
    return sorted(
        (name, "…" if name in TIMING_HEADERS else value.replace(base, "BASE"))
        for name, value in response.headers.multi_items()
        if name not in TRANSPORT_HEADERS
    )


def _assert_same(call: str, uvicorn: httpx.Response, granian: httpx.Response) -> None:
    assert granian.status_code == uvicorn.status_code, (call, granian.text[:300])
    assert granian.content == uvicorn.content, call
    assert _headers(granian) == _headers(uvicorn), call
    assert "x-withheld-revision" in granian.headers, call


def _wait_for(http: httpx.Client, base: str, revision: str) -> None:
    answer = http.get(f"{base}/visible?account=1&country=IN&min_revision={revision}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-withheld-revision"] == revision


@GRANIAN_KINDS
def test_granian_and_uvicorn_give_the_same_answers(database_url: str, granian_kind: str) -> None:
    with (
        running(database_url, kinds=["uvicorn", granian_kind], env=SERVER_TOKENS_ENV) as (
            uvicorn,
            granian,
        ),
        httpx.Client(timeout=30) as http,
    ):
        assert http.get(f"{uvicorn.url}/healthz").headers["server"] == "uvicorn"
        assert http.get(f"{granian.url}/healthz").headers["server"] == "granian"
        revision = "0"
        for account, country in SEEDED:
            seeded = http.put(
                f"{uvicorn.url}/accounts/{account}/withholdings/{country}",
                json={"reason": "seed"},
                headers=AUTH,
            )
            assert seeded.status_code == 201, seeded.text
            revision = seeded.headers["x-withheld-revision"]
        seeded = http.put(
            f"{uvicorn.url}/posts/99/withholdings/IN",
            json={"reason": "seed", "account": "12"},
            headers=AUTH,
        )
        assert seeded.status_code == 201, seeded.text
        seeded = http.put(
            f"{uvicorn.url}/hashtags/farmers/restrictions/IN", json={"reason": "seed"}, headers=AUTH
        )
        assert seeded.status_code == 201, seeded.text
        revision = seeded.headers["x-withheld-revision"]
        for server in (uvicorn, granian):
            _wait_for(http, server.url, revision)

        for name, call in CALLS.items():
            via_uvicorn, via_granian = call.send(http, uvicorn.url), call.send(http, granian.url)
            assert via_uvicorn.status_code == call.status, (name, via_uvicorn.text[:300])
            _assert_same(name, via_uvicorn, via_granian)

        # A write through granian is read back on both with its revision as min_revision.
        written = http.put(
            f"{granian.url}/accounts/14/withholdings/FR", json={"reason": "test"}, headers=AUTH
        )
        assert written.status_code == 201, written.text
        assert written.headers["content-type"] == "application/json"
        revision = written.headers["x-withheld-revision"]
        assert int(revision) == len(SEEDED) + 3
        read = Call("GET", f"/visible?account=14&country=FR&min_revision={revision}", 200)
        via_uvicorn, via_granian = read.send(http, uvicorn.url), read.send(http, granian.url)
        _assert_same("read your write", via_uvicorn, via_granian)
        assert via_granian.json() == {"account": "14", "country": "FR", "visible": False}
        assert via_granian.headers["x-withheld-revision"] == revision
        batch = Call(
            "POST", f"/visible?min_revision={revision}", 200, _batch("fr", ["14", "12"]), JSON
        )
        via_uvicorn, via_granian = batch.send(http, uvicorn.url), batch.send(http, granian.url)
        _assert_same("read your write, batch", via_uvicorn, via_granian)
        assert via_granian.json()["results"][0] == {"account": "14", "visible": False}

        # A lift (204, no body) through granian, read back on both the same way.
        lifted = http.request("DELETE", f"{granian.url}/accounts/14/withholdings/FR", headers=AUTH)
        assert lifted.status_code == 204, lifted.text
        assert lifted.content == b""
        revision = lifted.headers["x-withheld-revision"]
        read = Call("GET", f"/visible?account=14&country=FR&min_revision={revision}", 200)
        via_uvicorn, via_granian = read.send(http, uvicorn.url), read.send(http, granian.url)
        _assert_same("read your lift", via_uvicorn, via_granian)
        assert via_granian.json()["visible"] is True

        rules = Call("GET", "/accounts/14/withholdings?include_lifted=true", 200)
        _assert_same("history", rules.send(http, uvicorn.url), rules.send(http, granian.url))
    assert "Traceback" not in uvicorn.output()
    assert "Traceback" not in granian.output()


# -- b) several workers -----------------------------------------------------------------------


@GRANIAN_KINDS
def test_granian_counters_add_up_across_two_workers(
    database_url: str, tmp_path: Path, granian_kind: str
) -> None:
    folder = tmp_path / "metrics"
    env = {"WITHHELD_METRICS_DIR": str(folder)}
    with running(
        database_url, kinds=[granian_kind], workers=[2], env={**SERVER_TOKENS_ENV, **env}
    ) as (server,):
        traffic = send_traffic(server.url, folder)
        answered = requests_by_worker(folder, "/visible", "GET", "200")
        # Both workers answered lookups, so the totals below are sums over workers.
        assert len(answered) == 2, answered
        assert all(answered), answered
        assert_two_worker_totals(server.url, traffic)
    assert "Traceback" not in server.output()


# -- c) SIGTERM -------------------------------------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in {"Z", "X"}  # exited, waiting to be reaped


def _tcp_queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(bytes sent but not acknowledged, bytes received but not read) of the IPv4 socket from
    ``local_port`` to ``remote_port``, as /proc/net/tcp shows them; None without one."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, _, queues = line.split()[1:5]
        ports = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
        if ports == (local_port, remote_port):
            sent, received = (int(queue, 16) for queue in queues.split(":"))
            return sent, received
    return None


def _read_by_the_server(sock: socket.socket) -> bool:
    """Everything ``sock`` sent has arrived, and the process at the other end has read it."""
    ours, theirs = sock.getsockname()[1], sock.getpeername()[1]
    client_side, server_side = _tcp_queues(ours, theirs), _tcp_queues(theirs, ours)
    if client_side is None or server_side is None:
        return False
    return client_side[0] == 0 and server_side[1] == 0


@GRANIAN_KINDS
def test_sigterm_lets_granian_answer_what_it_started_and_exit_0(
    database_url: str, tmp_path: Path, granian_kind: str
) -> None:
    folder = tmp_path / "metrics"
    env = {"WITHHELD_METRICS_DIR": str(folder)}
    with running(
        database_url, kinds=[granian_kind], workers=[2], env={**SERVER_TOKENS_ENV, **env}
    ) as (server,):

        def workers() -> set[int]:
            return {
                int(dict(labels)["pid"])
                for name, labels in samples(server.url)
                if name == "withheld_revision_applied"
            }

        # Both workers have published their gauges (each once a second after it starts; on a
        # slow host the second may start well after the first answered /readyz). Until both
        # have, the one that answers /metrics may name only itself.
        wait_until(lambda: len(published(folder)) == 2, timeout=10)
        pids = workers()
        assert len(pids) == 2
        # Waits 1 s for a revision that never comes, then answers 503: still in flight when
        # the signal arrives, once a worker has read it.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as in_flight:
            in_flight.sendall(
                b"GET /visible?account=1&country=IN&min_revision=999999 HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            wait_until(
                lambda: _read_by_the_server(in_flight),
                timeout=5,
                interval=0.01,
                message="no worker read the request",
            )
            signalled = time.monotonic()
            os.kill(server.process.pid, signal.SIGTERM)  # the main process, as a supervisor does
            returncode = server.process.wait(timeout=10)
            took = time.monotonic() - signalled
            answer = http.client.HTTPResponse(in_flight)
            answer.begin()
            detail = json.loads(answer.read())["detail"]
    assert returncode == 0
    assert took < 5
    assert answer.status == 503
    assert detail.startswith("min_revision:")
    assert all(_gone(pid) for pid in pids)
    assert "Traceback" not in server.output()


# -- d) withheld serve --server granian --------------------------------------------------------


def test_serve_with_server_granian_prints_a_token_that_can_write(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(WITHHELD_DATABASE_URL=database_url)
    with cli_serving("--server", "granian", env=env, cwd=tmp_path) as (process, base, log):
        wait_cli_ready(process, base, log)
        found = re.search(r"WITHHELD_TOKEN=(\S+)", log.read_text())
        assert found, log.read_text()
        token = found.group(1)
        answer = httpx.get(f"{base}/visible?account=12&country=IN")
        assert answer.headers["server"] == "granian"
        assert answer.json()["visible"] is True
        written = httpx.put(
            f"{base}/accounts/12/withholdings/IN",
            json={"reason": "try it"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert written.status_code == 201
        revision = written.headers["x-withheld-revision"]
        answer = httpx.get(f"{base}/visible?account=12&country=IN&min_revision={revision}")
        assert answer.json()["visible"] is False
        refused = httpx.put(
            f"{base}/accounts/12/withholdings/IN",
            json={"reason": "x"},
            headers={"Authorization": "Bearer not-the-token-at-all"},
        )
        assert refused.status_code == 401
    assert process.returncode == 0
    assert "Traceback" not in log.read_text()


def test_withheld_server_variable_chooses_the_server(tmp_path: Path) -> None:
    env = cli_env(
        WITHHELD_SERVER="granian",
        WITHHELD_DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
        WITHHELD_ADMIN_TOKENS=SERVER_TOKENS_ENV["WITHHELD_ADMIN_TOKENS"],
    )
    with cli_serving(env=env, cwd=tmp_path) as (process, base, log):
        wait_cli_ready(process, base, log)
        assert httpx.get(f"{base}/healthz").headers["server"] == "granian"
    assert "WITHHELD_TOKEN" not in log.read_text()  # tokens configured: none generated


def test_unknown_withheld_server_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=tmp_path,
        env=cli_env(WITHHELD_SERVER="gunicorn"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "WITHHELD_SERVER='gunicorn'" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before migrating anything
