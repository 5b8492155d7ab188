"""Plain domain values shared by services, the replica and the API (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChangeOp(StrEnum):
    WITHHOLD = "withhold"
    LIFT = "lift"


class LiftReason(StrEnum):
    ORDER_REVOKED = "order_revoked"
    REVIEW = "review"
    COURT_RULING = "court_ruling"
    EXPIRED = "expired"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Change:
    """One committed visibility change, as the changelog records it."""

    revision: int
    op: ChangeOp
    account: int
    country: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a committed write did: its changes (possibly none) and the revision it leaves behind."""

    changes: tuple[Change, ...]
    revision: int


class RuleNotFoundError(LookupError):
    """No active rule for that (account, country)."""

    def __init__(self, account: int, country: str) -> None:
        super().__init__(f"no active withholding of account {account} in {country}")
        self.account = account
        self.country = country
