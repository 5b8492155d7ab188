"""The request body limit: a body over it is a 413 and writes nothing, with or without a
Content-Length; a body at it is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.apps import running_app
from tests.support.http import assert_json_error, chunks_of
from tests.support.shared_app import snapshot
from tests.support.tokens import AUTH

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def small_limit(shared_url: str, shared: TestClient) -> Iterator[TestClient]:
    """A second app on the shared database, accepting request bodies up to ``LIMIT`` bytes."""
    with running_app(shared_url, max_body_bytes=LIMIT) as client:
        yield client


OVERSIZED_WRITES: list[Any] = [
    pytest.param("POST", "/visible", id="batch-lookup"),
    pytest.param("PUT", "/accounts/12/withholdings/IN", id="withhold"),
    pytest.param("POST", "/withholdings/bulk", id="bulk"),
    pytest.param("DELETE", "/accounts/12/withholdings/IN", id="lift"),
]


def oversized_body(url: str, size: int) -> bytes:
    """Valid JSON for ``url``, padded with whitespace to exactly ``size`` bytes."""
    if url == "/visible":
        payload = b'{"country":"IN","accounts":["12"]}'
    elif url == "/withholdings/bulk":
        payload = b'{"reason":"r","items":[{"account":"12","country":"IN"}]}'
    else:
        payload = b'{"reason":"r"}'
    assert len(payload) < size
    return payload + b" " * (size - len(payload))


@pytest.mark.parametrize(("method", "url"), OVERSIZED_WRITES)
def test_body_over_the_limit_is_413_with_content_length(
    small_limit: TestClient, method: str, url: str
) -> None:
    before = snapshot(small_limit)

    response = small_limit.request(
        method,
        url,
        content=oversized_body(url, LIMIT + 1),
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.request.headers["content-length"] == str(LIMIT + 1)
    assert_json_error(response, 413)
    assert snapshot(small_limit) == before


@pytest.mark.parametrize(("method", "url"), OVERSIZED_WRITES)
def test_body_over_the_limit_is_413_when_streamed_without_content_length(
    small_limit: TestClient, method: str, url: str
) -> None:
    before = snapshot(small_limit)

    response = small_limit.request(
        method,
        url,
        content=chunks_of(oversized_body(url, LIMIT * 3), 4096),
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_json_error(response, 413)
    assert snapshot(small_limit) == before


def test_body_at_the_limit_is_accepted(small_limit: TestClient) -> None:
    headers = {"Content-Type": "application/json"}

    with_length = small_limit.post(
        "/visible", content=oversized_body("/visible", LIMIT), headers=headers
    )
    streamed = small_limit.post(
        "/visible", content=chunks_of(oversized_body("/visible", LIMIT), 4096), headers=headers
    )

    assert with_length.status_code == 200, with_length.text
    assert streamed.status_code == 200, streamed.text


def test_default_body_limit_is_eight_mebibytes(shared: TestClient) -> None:
    limit = 8 * 1024 * 1024
    headers = {"Content-Type": "application/json"}

    at_limit = shared.post("/visible", content=oversized_body("/visible", limit), headers=headers)
    over = shared.post("/visible", content=oversized_body("/visible", limit + 1), headers=headers)
    over_in_bulk = shared.post(
        "/withholdings/bulk",
        content=oversized_body("/withholdings/bulk", limit + 1),
        headers={**AUTH, **headers},
    )

    assert at_limit.status_code == 200, at_limit.text
    assert_json_error(over, 413)
    assert_json_error(over_in_bulk, 413)
