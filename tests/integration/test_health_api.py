"""GET /healthz and GET /readyz."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.routing import _IncludedRouter
from fastapi.testclient import TestClient

from tests.support.apps import ClientFactory
from tests.support.http import lift, ok, revision_of, withhold
from tests.support.waiting import wait_until


def test_healthz_answers_200(shared: TestClient) -> None:
    response = shared.get("/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


def test_readyz_reports_loaded_index_database_revision_and_pairs(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)
    ok(withhold(client, "12", "XX"), 201)
    write = withhold(client, "34", "US")
    ok(write, 201)
    assert lift(client, "12", "IN").status_code == 204

    response = client.get("/readyz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["index_loaded"] is True
    assert body["database"] == "ok"
    assert body["pairs"] == 2
    assert body["revision"] == revision_of(response)
    assert body["revision"] > revision_of(write)


def test_a_started_app_has_every_router_prepared(shared: TestClient) -> None:
    """FastAPI prepares a router's routes on the first request that reaches it, on the event
    loop; start-up does it for all of them, so no request after ready pays it (a stall of every
    lookup in flight). Reads FastAPI's own record of it: if a FastAPI upgrade renames it, this
    fails and the start-up step (``app.main._build_routes_now``) needs a fresh look."""
    api = shared.app.api  # type: ignore[attr-defined]
    included = [route for route in api.router.routes if isinstance(route, _IncludedRouter)]

    assert included, "FastAPI no longer wraps included routers: revisit _build_routes_now"
    for branch in included:
        prepared = branch._effective_candidates_version
        assert prepared == branch.original_router._get_routes_version(), branch.original_router


def _hold_the_loop() -> None:
    time.sleep(0.3)  # the stall the trace must name


def test_a_stall_trace_file_gets_what_held_the_loop(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """``WITHHELD_STALL_TRACE_FILE``: a started app writes the stacks of a stall there."""
    trace = tmp_path / "stalls.txt"
    client = make_client(stall_trace_file=trace, stall_trace_ms=100)
    assert client.get("/healthz").status_code == 200

    assert client.portal is not None  # a started client
    client.portal.call(_hold_the_loop)  # on the app's event loop

    wait_until(lambda: "event loop stalled" in trace.read_text(), timeout=5)
    assert "_hold_the_loop" in trace.read_text()
