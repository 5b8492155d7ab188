"""Calls to the API and checks of what it answers, through any ``httpx.Client`` (a
``TestClient`` in-process, or an ``httpx.Client`` with the ``base_url`` of a real server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from tests.support.tokens import AUTH


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of ``response``, which must have answered ``status``."""
    assert response.status_code == status, response.text
    return response.json()


def assert_json_error(response: httpx.Response, status: int) -> Any:
    """The ``detail`` of a JSON error answered with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert "detail" in body
    return body["detail"]


def revision_of(response: httpx.Response) -> int:
    """The revision a response says it reflects (``X-Withheld-Revision``)."""
    raw = response.headers.get("X-Withheld-Revision")
    assert raw is not None, f"no X-Withheld-Revision on {response.request.method} {response.url}"
    assert raw.isdigit(), raw
    return int(raw)


def current_revision(client: httpx.Client) -> int:
    """The revision ``/readyz`` reports."""
    revision: int = ok(client.get("/readyz"))["revision"]
    return revision


def is_visible(client: httpx.Client, account: str, country: str) -> bool:
    visible = ok(client.get("/visible", params={"account": account, "country": country}))["visible"]
    assert isinstance(visible, bool)
    return visible


def withhold(
    client: httpx.Client, account: str, country: str, reason: str = "court order", **terms: Any
) -> httpx.Response:
    """PUT a withholding of ``account`` in ``country`` as alice."""
    response: httpx.Response = client.put(
        f"/accounts/{account}/withholdings/{country}",
        json={"reason": reason, **terms},
        headers=AUTH,
    )
    return response


def lift(
    client: httpx.Client, account: str, country: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """DELETE the withholding of ``account`` in ``country`` as alice (``body``: its reason)."""
    response: httpx.Response = client.request(
        "DELETE", f"/accounts/{account}/withholdings/{country}", json=body, headers=AUTH
    )
    return response


def history(client: httpx.Client, account: str, *, include_lifted: bool = False) -> dict[str, Any]:
    """The rules of ``account``: the active ones, or every one with ``include_lifted``."""
    params = {"include_lifted": "true"} if include_lifted else {}
    body: dict[str, Any] = ok(client.get(f"/accounts/{account}/withholdings", params=params))
    return body


def rules_of(client: httpx.Client, account: str) -> list[dict[str, Any]]:
    """Every rule of ``account``, lifted ones included."""
    rules: list[dict[str, Any]] = history(client, account, include_lifted=True)["rules"]
    return rules


def withheld_in(client: httpx.Client, account: str) -> list[str]:
    """The countries ``account`` is withheld in now."""
    countries: list[str] = history(client, account)["withheld_in_countries"]
    return countries


def chunks_of(body: bytes, size: int) -> Iterator[bytes]:
    """``body`` in pieces of ``size`` bytes: httpx sends it chunked, without a Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]
