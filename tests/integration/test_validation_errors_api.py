"""Validation errors: a 422 that names the field and never echoes the input back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.http import assert_json_error, current_revision
from tests.support.tokens import AUTH

SMALL_RESPONSE_BYTES = 4096


HUGE = "9" * 2_000_000
# httpx refuses URLs over 64 KiB, so inputs in the URL are as large as a URL may be.
HUGE_IN_URL = "9" * 60_000

HUGE_INVALID_INPUTS: list[Any] = [
    pytest.param(
        "GET", "/visible", {"params": {"account": HUGE_IN_URL, "country": "IN"}}, id="query"
    ),
    pytest.param(
        "POST", "/visible", {"json": {"country": "IN", "accounts": ["12", HUGE]}}, id="batch"
    ),
    pytest.param("GET", f"/accounts/{HUGE_IN_URL}/withholdings", {}, id="path"),
    pytest.param(
        "PUT",
        "/accounts/12/withholdings/IN",
        {"json": {"reason": HUGE}, "headers": AUTH},
        id="reason",
    ),
    pytest.param(
        "POST",
        "/withholdings/bulk",
        {"json": {"reason": "r", "items": [{"account": HUGE, "country": "IN"}]}, "headers": AUTH},
        id="bulk-item",
    ),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), HUGE_INVALID_INPUTS)
def test_validation_error_never_echoes_a_huge_input(
    shared: TestClient, method: str, url: str, kwargs: dict[str, Any]
) -> None:
    revision = current_revision(shared)

    response = shared.request(method, url, **kwargs)

    assert_json_error(response, 422)
    assert len(response.content) < SMALL_RESPONSE_BYTES
    assert "9" * 100 not in response.text
    assert current_revision(shared) == revision


def test_validation_error_names_the_field(shared: TestClient) -> None:
    response = shared.post("/visible", json={"country": "IN", "accounts": ["12", "34", "x"]})

    detail = assert_json_error(response, 422)
    assert ["body", "accounts", 2] in [issue["loc"] for issue in detail]
    assert all({"loc", "msg", "type"} <= set(issue) for issue in detail)
