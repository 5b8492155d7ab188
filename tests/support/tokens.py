"""The admin tokens the tests configure, and the headers that present them."""

from __future__ import annotations

ADMIN_TOKEN = "test-admin-token-0123456789"  # alice's
OTHER_TOKEN = "test-other-token-9876543210"  # bob's

# WITHHELD_ADMIN_TOKENS of an app started in-process: two named tokens.
ADMIN_TOKENS = f"alice:{ADMIN_TOKEN},bob:{OTHER_TOKEN}"
# The environment a real server process gets: alice's token only.
SERVER_TOKENS_ENV = {"WITHHELD_ADMIN_TOKENS": f"alice:{ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header presenting ``token``."""
    return {"Authorization": f"Bearer {token}"}


AUTH = bearer(ADMIN_TOKEN)
