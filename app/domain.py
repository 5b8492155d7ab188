"""Plain domain values shared by services, the replica and the API (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class Subject(StrEnum):
    """What a rule withholds: a whole account, or one post (by its author)."""

    ACCOUNT = "account"
    POST = "post"


RuleKey = tuple[Subject, int, str]
"""(subject, its id, country): at most one active rule per key."""


def post_scope(*, author_withheld: bool, post_withheld: bool) -> Subject | None:
    """What hides a post from a viewer, if anything: its author's withholding wins (Twitter's
    ``scope: "user"``), else the post's own (``"tweet"``)."""
    if author_withheld:
        return Subject.ACCOUNT
    return Subject.POST if post_withheld else None


class ChangeOp(StrEnum):
    WITHHOLD = "withhold"
    LIFT = "lift"


class LiftCause(StrEnum):
    """Why a rule ended: a person's reason for lifting it (the API's ``LiftReason``), or expiry."""

    ORDER_REVOKED = "order_revoked"
    REVIEW = "review"
    COURT_RULING = "court_ruling"
    EXPIRED = "expired"
    OTHER = "other"


class Change(NamedTuple):
    """One committed visibility change, as the changelog records it: of an account's rule, or
    with ``post``, of that post's rule (``account`` is then its author), or with ``hashtag``, of
    a hashtag's restriction (``account`` is then None; ``withhold`` means restrict).

    A named tuple, not a frozen dataclass: a follower builds 100,000 at a time holding the
    GIL, and a frozen dataclass's ``__init__`` costs several times as much
    (``docs/performance.md``)."""

    revision: int
    op: ChangeOp
    account: int | None
    country: str
    post: int | None = None
    hashtag: str | None = None


class LogEntry(NamedTuple):
    """A change to append to the changelog: which rule row, what it does, and when. A hashtag
    restriction's entry has no account and no rule, but ``hashtag`` and ``restriction_id``.
    A named tuple, as ``Change`` is: a bulk makes 100,000 in the write process."""

    op: ChangeOp
    account: int | None
    country: str
    rule_id: int | None
    at: datetime
    post: int | None = None
    hashtag: str | None = None
    restriction_id: int | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a committed write did: its changes (possibly none) and the revision it leaves behind."""

    changes: tuple[Change, ...]
    revision: int


class NotFoundError(LookupError):
    """What a request named does not exist (for this reader): the API answers 404 with
    ``detail``, which names the field where the request has one."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RuleNotFoundError(NotFoundError):
    """No active rule for that (account or post, country)."""

    def __init__(self, key: RuleKey) -> None:
        subject, subject_id, country = key
        super().__init__(f"no active withholding of {subject.value} {subject_id} in {country}")
        self.key = key


class ConflictError(ValueError):
    """The request contradicts what is stored: the API answers 409 with ``detail``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AuthorConflictError(ConflictError):
    """A post has one author: a rule naming another is refused, and nothing is written."""

    def __init__(self, post: int, author: int, named: int) -> None:
        super().__init__(f"account: post {post} is by account {author}, not {named}")
        self.post = post


class DecisionAction(StrEnum):
    """What was done about one account (or hashtag) named in a legal order."""

    WITHHOLD = "withhold"  # in the order's country
    WITHHOLD_GLOBAL = "withhold_global"  # in every country (XX), e.g. a suspension
    DECLINE = "decline"  # nothing done; the category says why
    RESTRICT = "restrict"  # a hashtag, in the order's country
    RESTRICT_GLOBAL = "restrict_global"  # a hashtag, in every country (XX)


class DeclineCategory(StrEnum):
    """Why an account was left alone (also allowed, for the record, on a withhold)."""

    NEWS_MEDIA = "news_media"
    JOURNALIST = "journalist"
    ACTIVIST = "activist"
    POLITICIAN = "politician"
    OTHER = "other"


class AuditAction(StrEnum):
    """Every kind of write the audit log records."""

    WITHHOLD = "withhold"  # a rule created
    UPDATE = "update"  # an active rule's terms replaced
    LIFT = "lift"
    EXPIRE = "expire"
    ORDER_CREATE = "order_create"
    DECISION_WITHHOLD = "decision_withhold"
    DECISION_WITHHOLD_GLOBAL = "decision_withhold_global"
    DECISION_DECLINE = "decision_decline"
    RESTRICT = "restrict"  # a hashtag restriction created (update, lift, expire as for rules)
    DECISION_RESTRICT = "decision_restrict"
    DECISION_RESTRICT_GLOBAL = "decision_restrict_global"


class AuditRecord(NamedTuple):
    """One audit entry to write: who did what, when, to which account/country/order, and why.
    A named tuple, as ``Change`` is: a bulk makes 100,000 in the write process."""

    at: datetime
    actor: str
    action: AuditAction
    justification: str
    account: int | None = None
    country: str | None = None
    order_id: int | None = None
    post: int | None = None
    hashtag: str | None = None


class OrderNotFoundError(NotFoundError):
    """No such legal order (or, for a public reader, a sealed one)."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"id: no legal order {order_id}")
        self.order_id = order_id


class RestrictionNotFoundError(NotFoundError):
    """No active restriction of that hashtag in that country."""

    def __init__(self, hashtag: str, country: str) -> None:
        super().__init__(f"no active restriction of hashtag {hashtag} in {country}")
        self.hashtag = hashtag
        self.country = country
