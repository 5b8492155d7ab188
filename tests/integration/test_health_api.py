"""GET /healthz and GET /readyz."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.http import lift, ok, revision_of, withhold


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
