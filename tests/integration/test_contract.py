import time

from fastapi.testclient import TestClient


def test_probe(make_client: object) -> None:
    t = time.monotonic()
    c: TestClient = make_client()  # type: ignore[operator]
    print("start", time.monotonic() - t)
    t = time.monotonic()
    for _ in range(100):
        c.get("/accounts/12/withholdings")
    print("100 reads", time.monotonic() - t)
