"""The data of the app a test module shares (the ``shared`` fixture): one seeded database per
backend, for the tests that only read, or whose point is that nothing gets written."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.http import current_revision, history, is_visible, ok, withhold

# In the shared database: 12 is withheld in India, 34 everywhere; no other account has rules.
SHARED_WITHHELD_IN_INDIA = "12"
SHARED_WITHHELD_EVERYWHERE = "34"
SHARED_NEVER_WITHHELD = "13"


def seed_shared(client: httpx.Client) -> None:
    """Write the shared database's rules."""
    ok(withhold(client, SHARED_WITHHELD_IN_INDIA, "IN", reason="original"), 201)
    ok(withhold(client, SHARED_WITHHELD_EVERYWHERE, "XX", reason="original"), 201)


def snapshot(client: httpx.Client) -> tuple[Any, ...]:
    """What a stray write to the shared database would change."""
    return (
        current_revision(client),
        client.get("/readyz").json()["pairs"],
        history(client, "12", include_lifted=True),
        history(client, "56", include_lifted=True),
        is_visible(client, "12", "IN"),
        is_visible(client, "56", "US"),
    )
