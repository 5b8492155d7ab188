"""The transparency report: per country and authority, what was asked and what was done.

Over the legal orders *received* in ``[since, until)`` (optionally of one country), one row per
(country, authority) — every sealed order of a country counts in a row of its own whose authority
is null, so a sealed order is counted but never named (``services.disclosure``). Per row:

- ``orders``: orders received; ``sealed_orders``: how many of them are sealed;
- ``accounts_specified``: distinct accounts named in decisions about accounts on those orders;
- ``withheld`` / ``withheld_global``: distinct accounts with a ``withhold`` / ``withhold_global``
  decision on them (whether the rule was created then or was already active);
- ``declined.<category>``: distinct accounts declined with that category;
- ``posts_specified`` / ``posts_withheld``: distinct posts named in decisions on those orders,
  and those with a ``withhold`` or ``withhold_global`` decision (Twitter's "Tweets withheld");
- ``lifted``: rules created for those orders (their provenance) lifted, for any reason including
  expiry, before ``until``;
- ``hashtags_specified``: distinct hashtags named in decisions on those orders;
  ``hashtags_restricted``: distinct hashtags with a ``restrict`` or ``restrict_global`` decision.

Decisions count whenever they were recorded; lifts only up to ``until``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.domain import DecisionAction, DeclineCategory
from app.repositories import reports
from app.services import disclosure


@dataclass
class ReportTally:
    country: str
    authority: str | None
    orders: int = 0
    sealed_orders: int = 0
    accounts_specified: int = 0
    withheld: int = 0
    withheld_global: int = 0
    declined: dict[DeclineCategory, int] = field(
        default_factory=lambda: dict.fromkeys(DeclineCategory, 0)
    )
    lifted: int = 0
    posts_specified: int = 0
    posts_withheld: int = 0
    hashtags_specified: int = 0
    hashtags_restricted: int = 0


def _sort_key(row: ReportTally) -> tuple[str, bool, str]:
    return (row.country, row.authority is None, row.authority or "")


def build_report(
    session: Session, *, since: datetime, until: datetime, country: str | None
) -> list[ReportTally]:
    """The rows, by country, then authority (the sealed row last in its country)."""
    rows: dict[reports.RowKey, ReportTally] = {}
    window = reports.Window(
        since=since, until=until, country=country, authority=disclosure.report_authority()
    )
    for key, (orders, sealed) in reports.count_orders(session, window).items():
        rows[key] = ReportTally(key[0], key[1], orders=orders, sealed_orders=sealed)
    if not rows:
        return []
    for key, named in reports.count_accounts_named(session, window).items():
        rows[key].accounts_specified = named
    for key, action, accounts in reports.count_accounts_by_action(session, window):
        if action == DecisionAction.WITHHOLD:
            rows[key].withheld = accounts
        elif action == DecisionAction.WITHHOLD_GLOBAL:
            rows[key].withheld_global = accounts
    for key, category, accounts in reports.count_declined_by_category(session, window):
        rows[key].declined[DeclineCategory(category)] = accounts
    for key, lifted in reports.count_rules_lifted(session, window).items():
        rows[key].lifted = lifted
    for key, named in reports.count_posts_named(session, window).items():
        rows[key].posts_specified = named
    for key, withheld in reports.count_posts_withheld(session, window).items():
        rows[key].posts_withheld = withheld
    for key, (named, restricted) in reports.count_hashtags(session, window).items():
        rows[key].hashtags_specified = named
        rows[key].hashtags_restricted = restricted
    return sorted(rows.values(), key=_sort_key)
