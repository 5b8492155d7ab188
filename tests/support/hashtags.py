"""What the hashtag tests ask of an app: may this hashtag trend and be suggested there?"""

from __future__ import annotations

from fastapi.testclient import TestClient


def eligible(client: TestClient, hashtag: str, country: str, **params: str) -> bool:
    response = client.get(
        "/hashtags/eligible", params={"hashtag": hashtag, "country": country, **params}
    )
    assert response.status_code == 200, response.text
    flag: bool = response.json()["eligible"]
    return flag
