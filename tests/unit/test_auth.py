"""Admin tokens: plain and named forms, constant-time match, no weak tokens."""

from __future__ import annotations

import pytest

from app.auth import TokenRegistry, generate_token


def test_named_and_plain_tokens_authenticate_to_their_names() -> None:
    registry = TokenRegistry.parse("alice:aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb")
    assert registry.authenticate("aaaaaaaaaaaaaaaaaaaa") == "alice"
    plain = registry.authenticate("bbbbbbbbbbbbbbbbbbbb")
    assert plain is not None
    assert plain.startswith("token-")
    assert "bbbb" not in plain
    assert registry.authenticate("cccccccccccccccccccc") is None
    assert registry.authenticate("") is None


def test_no_tokens_means_not_configured() -> None:
    assert not TokenRegistry.parse("").configured
    assert not TokenRegistry.parse(" , ").configured


def test_short_tokens_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        TokenRegistry.parse("alice:short")


def test_generated_tokens_are_long_and_distinct() -> None:
    tokens = {generate_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(token) >= 40 and ":" not in token for token in tokens)
