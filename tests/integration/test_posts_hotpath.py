"""The fast path answers post lookups exactly as the documented FastAPI route does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import WithheldApp, create_app
from tests.support.apps import make_settings
from tests.support.tokens import AUTH

AUTHOR, OTHER = "12", "13"


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, TestClient]]:
    folder: Path = tmp_path_factory.mktemp("posts-hotpath")
    app: WithheldApp = create_app(make_settings(f"sqlite:///{folder / 'w.db'}"))
    with TestClient(app) as full:
        for post, author, country in [
            ("100", AUTHOR, "IN"),
            ("101", AUTHOR, "XX"),
            ("200", OTHER, "de"),
        ]:
            response = full.put(
                f"/posts/{post}/withholdings/{country}",
                headers=AUTH,
                json={"account": author, "reason": "test"},
            )
            assert response.status_code == 201, response.text
        response = full.put(
            f"/accounts/{OTHER}/withholdings/IN", headers=AUTH, json={"reason": "t"}
        )
        assert response.status_code == 201
        # The bare FastAPI app shares the started app's state but has no fast path in front.
        yield full, TestClient(app.api)


IDS = st.one_of(
    st.sampled_from(["12", "13", "14", "100", "101", "200", "0", "012", "-1", "1e5", "", "abc"]),
    st.sampled_from(["9223372036854775807", "9223372036854775808"]),
    st.integers(min_value=0, max_value=2**64).map(str),
)
COUNTRIES = st.sampled_from(["IN", "in", "De", "US", "XX", "ZZ", ""])


def _check(full: TestClient, route_only: TestClient, query: str) -> None:
    fast, slow = full.get(f"/visible?{query}"), route_only.get(f"/visible?{query}")
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content), query
    assert fast.headers["content-type"] == slow.headers["content-type"]
    assert fast.status_code != 500


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(account=IDS, post=IDS, country=COUNTRIES)
def test_fast_path_and_route_agree_on_any_post_lookup(
    apps: tuple[TestClient, TestClient], account: str, post: str, country: str
) -> None:
    full, route_only = apps
    for query in (
        f"account={account}&post={post}&country={country}",
        f"post={post}&country={country}&account={account}",
        f"account={account}&post={post}&country={country}&min_revision=0",
    ):
        _check(full, route_only, query)


@pytest.mark.parametrize(
    "query",
    [
        "account=12&post=100&country=IN",
        "account=12&post=100&country=US",
        "account=12&post=101&country=US",
        "account=13&post=200&country=IN",
        "account=13&post=200&country=DE",
        "account=13&post=201&country=FR",
        "account=12&post=100&post=101&country=US",
        "account=12&post=&country=IN",
        "account=12&post=100&country=IN&min_revision=99999",
        "account=12&post=%31&country=IN",
        "post=100&country=IN",
        "account=12&post=100&country=IN&explain=true",
    ],
)
def test_fast_path_and_route_agree_on_post_edge_cases(
    apps: tuple[TestClient, TestClient], query: str
) -> None:
    full, route_only = apps
    _check(full, route_only, query)


BATCHES: list[object] = [
    {
        "country": "IN",
        "posts": [{"post": "100", "account": AUTHOR}, {"post": "200", "account": OTHER}],
    },
    {"country": "de", "posts": [{"post": "200", "account": OTHER}] * 3},
    {"country": "US", "posts": [{"post": "101", "account": AUTHOR}, {"post": "5", "account": "6"}]},
    {"country": "IN", "posts": [{"post": "100"}]},
    {"country": "IN", "posts": [{"post": "100", "account": "12", "x": 1}]},
    {"country": "IN", "posts": [{"post": 100, "account": "12"}]},
    {"country": "IN", "posts": [None]},
    {"country": "IN", "posts": []},
    {"country": "IN", "posts": [{"post": "012", "account": "12"}]},
    {"country": "IN", "posts": [{"post": "1", "account": "2"}] * 10_001},
    {"country": "IN", "posts": [{"post": str(n), "account": "2"} for n in range(1, 10_001)]},
    {"country": "IN", "posts": [{"post": "1", "account": "2"}], "accounts": ["1"]},
    {"country": "XX", "posts": [{"post": "1", "account": "2"}]},
]


@pytest.mark.parametrize("body", BATCHES, ids=range(len(BATCHES)))
def test_post_batch_fast_path_and_route_agree(
    apps: tuple[TestClient, TestClient], body: object
) -> None:
    full, route_only = apps
    fast, slow = full.post("/visible", json=body), route_only.post("/visible", json=body)
    assert fast.status_code == slow.status_code
    assert fast.status_code != 500
    if fast.status_code == 200:
        assert fast.content == slow.content
    else:
        assert fast.json() == slow.json()
