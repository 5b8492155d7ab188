"""Instants as the API writes and reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def instant(raw: str) -> datetime:
    """An instant from the API (which always gives its offset), in UTC."""
    value = datetime.fromisoformat(raw)
    assert value.tzinfo is not None, f"{raw!r} has no offset"
    return value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def in_future(seconds: float) -> str:
    """The instant ``seconds`` from now, as a request would send it."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
