"""Bearer tokens for writes. ``WITHHELD_ADMIN_TOKENS`` holds ``token`` or ``name:token`` entries,
comma-separated. Tokens are kept only as SHA-256 digests and compared in constant time; the name
(or, for a bare token, a short fingerprint) is what audit records and logs show — never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True, slots=True)
class AdminToken:
    name: str
    digest: bytes


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def generate_token() -> str:
    return secrets.token_urlsafe(32)


class TokenRegistry:
    def __init__(self, tokens: list[AdminToken]) -> None:
        self._tokens = tokens

    @classmethod
    def parse(cls, setting: str) -> TokenRegistry:
        tokens: list[AdminToken] = []
        for raw in setting.split(","):
            entry = raw.strip()
            if not entry:
                continue
            name, sep, token = entry.partition(":")
            if not sep:
                token = entry
                name = "token-" + hashlib.sha256(entry.encode()).hexdigest()[:8]
            name, token = name.strip(), token.strip()
            if not name or len(token) < MIN_TOKEN_LENGTH:
                raise ValueError(
                    f"WITHHELD_ADMIN_TOKENS: each token must be at least {MIN_TOKEN_LENGTH} "
                    "characters (entry names are `name:token`)"
                )
            tokens.append(AdminToken(name=name, digest=_digest(token)))
        return cls(tokens)

    @property
    def configured(self) -> bool:
        return bool(self._tokens)

    @property
    def names(self) -> list[str]:
        return [token.name for token in self._tokens]

    def authenticate(self, presented: str) -> str | None:
        """The token's name, or None. Compares against every token, whatever matches first."""
        digest = _digest(presented)
        found: str | None = None
        for token in self._tokens:
            if hmac.compare_digest(digest, token.digest):
                found = token.name
        return found
