"""Who may write: every write needs a configured bearer token, reads never do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.apps import running_app
from tests.support.http import assert_json_error, is_visible, ok
from tests.support.shared_app import snapshot
from tests.support.tokens import ADMIN_TOKEN, AUTH, OTHER_TOKEN


@pytest.fixture(scope="module")
def tokenless(shared_url: str, shared: TestClient) -> Iterator[TestClient]:
    """A second app on the shared database, configured with no admin token at all."""
    with running_app(shared_url, admin_tokens="") as client:
        yield client


BAD_CREDENTIALS = [
    pytest.param({}, id="missing"),
    pytest.param({"Authorization": "Bearer wrong-token-000000000000"}, id="wrong-token"),
    pytest.param({"Authorization": f"Bearer {ADMIN_TOKEN}x"}, id="token-with-suffix"),
    pytest.param({"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"}, id="token-prefix"),
    pytest.param({"Authorization": "Bearer "}, id="empty-bearer"),
    pytest.param({"Authorization": f"Basic {ADMIN_TOKEN}"}, id="basic-scheme"),
    pytest.param({"Authorization": f"Token {ADMIN_TOKEN}"}, id="token-scheme"),
    pytest.param({"Authorization": ADMIN_TOKEN}, id="no-scheme"),
    pytest.param({"X-Admin-Token": ADMIN_TOKEN}, id="other-header"),
]

WRITES: list[Any] = [
    pytest.param("PUT", "/accounts/56/withholdings/US", {"reason": "r"}, id="withhold-new-pair"),
    pytest.param(
        "PUT", "/accounts/12/withholdings/IN", {"reason": "hijacked"}, id="withhold-active-pair"
    ),
    pytest.param("DELETE", "/accounts/12/withholdings/IN", {"reason": "review"}, id="lift"),
    pytest.param("DELETE", "/accounts/12/withholdings/IN", None, id="lift-without-body"),
    pytest.param(
        "POST",
        "/withholdings/bulk",
        {"reason": "r", "items": [{"account": "56", "country": "US"}]},
        id="bulk",
    ),
]


@pytest.mark.parametrize("headers", BAD_CREDENTIALS)
@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_writes_without_a_valid_bearer_token_are_401_and_write_nothing(
    shared: TestClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    before = snapshot(shared)

    response = shared.request(method, url, json=body, headers=headers)

    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(shared) == before


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_writes_are_refused_with_401_when_no_token_is_configured(
    tokenless: TestClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    before = snapshot(tokenless)

    response = tokenless.request(method, url, json=body, headers=AUTH)

    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(tokenless) == before


def test_every_configured_token_may_write(client: TestClient) -> None:
    response = client.put(
        "/accounts/12/withholdings/IN",
        json={"reason": "r"},
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    )

    ok(response, 201)
    assert not is_visible(client, "12", "IN")


def test_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    response = client.put(
        "/accounts/12/withholdings/IN",
        json={"reason": "r"},
        headers={"Authorization": f"bearer {ADMIN_TOKEN}"},
    )

    ok(response, 201)


READS: list[Any] = [
    pytest.param("GET", "/visible?account=12&country=IN", None, id="fast-lookup"),
    pytest.param("GET", "/visible?account=12&country=%49N", None, id="routed-lookup"),
    pytest.param("POST", "/visible", {"country": "IN", "accounts": ["12"]}, id="batch-lookup"),
    pytest.param("GET", "/accounts/12/withholdings", None, id="rules"),
    pytest.param("GET", "/accounts/12/withholdings?include_lifted=true", None, id="history"),
    pytest.param("GET", "/healthz", None, id="healthz"),
    pytest.param("GET", "/readyz", None, id="readyz"),
]


@pytest.mark.parametrize("configured", [True, False], ids=["tokens-configured", "no-tokens"])
@pytest.mark.parametrize(("method", "url", "body"), READS)
def test_reads_never_need_auth(
    shared: TestClient,
    tokenless: TestClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    configured: bool,
) -> None:
    client = shared if configured else tokenless

    response = client.request(method, url, json=body)

    assert response.status_code == 200, response.text
