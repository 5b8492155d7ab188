"""The fast path answers exactly as the documented FastAPI route does, for any query string."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import WithheldApp, create_app
from tests.support.apps import make_settings
from tests.support.tokens import AUTH


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, TestClient]]:
    folder: Path = tmp_path_factory.mktemp("hotpath")
    app: WithheldApp = create_app(make_settings(f"sqlite:///{folder / 'w.db'}"))
    with TestClient(app) as full:
        for account, country in [("12", "IN"), ("13", "XX"), ("9223372036854775807", "de")]:
            response = full.put(
                f"/accounts/{account}/withholdings/{country}", headers=AUTH, json={"reason": "test"}
            )
            assert response.status_code == 201
        # The bare FastAPI app shares the started app's state but has no fast path in front.
        route_only = TestClient(app.api)
        yield full, route_only


RAW_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#&%"),
    max_size=6,
)
QUOTED_TEXT = st.text(max_size=4).map(quote)
ACCOUNTS = st.one_of(
    st.sampled_from(
        [
            "12",
            "13",
            "14",
            "9223372036854775807",
            "9223372036854775808",
            "0",
            "012",
            "-1",
            "1e5",
            "",
            "abc",
            "+5",
        ]
    ),
    st.integers(min_value=0, max_value=2**64).map(str),
    RAW_TEXT,
    QUOTED_TEXT,
)
COUNTRIES = st.one_of(
    st.sampled_from(["IN", "in", "De", "XX", "ZZ", "IND", "", "1N", "US"]), RAW_TEXT, QUOTED_TEXT
)


def _check(full: TestClient, route_only: TestClient, query: str) -> None:
    fast = full.get(f"/visible?{query}")
    slow = route_only.get(f"/visible?{query}")
    assert fast.status_code == slow.status_code, query
    assert fast.content == slow.content, query
    assert fast.headers["content-type"] == slow.headers["content-type"]
    assert fast.status_code != 500


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(account=ACCOUNTS, country=COUNTRIES)
def test_fast_path_and_route_agree_on_any_account_and_country(
    apps: tuple[TestClient, TestClient], account: str, country: str
) -> None:
    full, route_only = apps
    for query in (f"account={account}&country={country}", f"country={country}&account={account}"):
        _check(full, route_only, query)


@pytest.mark.parametrize(
    "query",
    [
        "account=12&country=IN",
        "account=12&country=US",
        "account=13&country=FR",
        "account=12&country=%49N",
        "account=12&country=IN&min_revision=0",
        "account=12&account=13&country=IN",
        "account=12",
        "country=IN",
        "",
        "account=12&country=IN&x=1",
        "account=12&country=IN&min_revision=abc",
        "account=12&country=IN&min_revision=-1",
        # Shapes that end like the common query but are not it.
        "account=&country=IN",
        "account=12&country=US&country=IN",
        "x=1&account=12&country=IN",
        "xaccount=12&country=IN",
        "account=012&country=IN",
        "&country=IN",
        "account=12&country=iN",
        "account=12&min_revision=0&country=IN",
        "account=12&min_revision=999999&country=IN",
        "account=9223372036854775807&country=de",
        "account=13&country=xx",
        "account=12&country=ZZ",
        "account=12&country=IN&",
    ],
)
def test_fast_path_and_route_agree_on_edge_cases(
    apps: tuple[TestClient, TestClient], query: str
) -> None:
    full, route_only = apps
    _check(full, route_only, query)


def test_every_response_names_the_revision_it_reflects(
    apps: tuple[TestClient, TestClient],
) -> None:
    full, _ = apps
    for path in [
        "/visible?account=12&country=IN",
        "/visible?account=x&country=IN",
        "/healthz",
        "/accounts/12/withholdings",
    ]:
        assert full.get(path).headers["x-withheld-revision"] == "3"


BATCH_BODIES: list[object] = [
    {"country": "IN", "accounts": ["12", "13", "14", "12"]},
    {"country": "in", "accounts": ["9223372036854775807"]},
    {"country": "IN", "accounts": ["9223372036854775808"]},
    {"country": "IN", "accounts": ["012"]},
    {"country": "IN", "accounts": ["0"]},
    {"country": "IN", "accounts": [""]},
    {"country": "IN", "accounts": ["1e5"]},
    {"country": "IN", "accounts": [12]},
    {"country": "IN", "accounts": [False]},
    {"country": "IN", "accounts": [None]},
    {"country": "IN", "accounts": []},
    {"country": "IN", "accounts": "12"},
    {"country": "XX", "accounts": ["12"]},
    {"country": "IN", "accounts": ["12"], "extra": 1},
    {"accounts": ["12"]},
    ["12"],
    {"country": "IN", "accounts": [str(n) for n in range(1, 10_002)]},
    {"country": "IN", "accounts": [str(n) for n in range(1, 10_001)]},
]


@pytest.mark.parametrize("body", BATCH_BODIES, ids=range(len(BATCH_BODIES)))
@pytest.mark.parametrize("query", ["", "?min_revision=0", "?min_revision=999999"])
def test_batch_fast_path_and_route_agree(
    apps: tuple[TestClient, TestClient], body: object, query: str
) -> None:
    full, route_only = apps
    fast = full.post(f"/visible{query}", json=body)
    slow = route_only.post(f"/visible{query}", json=body)
    assert fast.status_code == slow.status_code
    assert fast.status_code != 500
    if fast.status_code == 200:
        assert fast.content == slow.content
    else:
        assert fast.json() == slow.json()


@given(accounts=st.lists(ACCOUNTS, min_size=1, max_size=20), country=COUNTRIES)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_batch_fast_path_and_route_agree_on_any_list(
    apps: tuple[TestClient, TestClient], accounts: list[str], country: str
) -> None:
    full, route_only = apps
    body = {"country": country, "accounts": accounts}
    fast, slow = full.post("/visible", json=body), route_only.post("/visible", json=body)
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content)


def test_malformed_json_batch_is_a_clean_client_error(apps: tuple[TestClient, TestClient]) -> None:
    full, _ = apps
    response = full.post(
        "/visible", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()
