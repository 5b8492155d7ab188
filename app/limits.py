"""How much one request may ask for: each limit of the contract, defined once."""

from __future__ import annotations

from typing import Final

MAX_BATCH: Final = 10_000
"""Ids in one ``POST /visible``."""
MAX_BULK: Final = 100_000
"""Items in one ``POST /withholdings/bulk``."""
MAX_DECISIONS: Final = 10_000
"""Decisions in one ``POST /orders/{id}/decisions``."""
MAX_CHANGES_PAGE: Final = 10_000
MAX_AUDIT_PAGE: Final = 1000
MAX_ORDERS_PAGE: Final = 500
MAX_HASHTAG_BATCH: Final = 1000
"""Hashtags in one ``POST /hashtags/eligible``."""
