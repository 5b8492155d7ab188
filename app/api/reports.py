"""The transparency report, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from app.api.deps import RuntimeDep
from app.api.error_responses import READ_ERRORS
from app.api.responses import JsonResponse
from app.api.transactions import read
from app.domain import DeclineCategory
from app.schemas.common import Instant, ViewerCountry
from app.schemas.reports import DeclinedCounts, ReportRow, TransparencyReport
from app.services import transparency as service

router = APIRouter(tags=["reports"])

CSV_MEDIA_TYPE = "text/csv"
CSV_COLUMNS = [
    "country",
    "authority",
    "orders",
    "sealed_orders",
    "accounts_specified",
    "withheld",
    "withheld_global",
    *(f"declined_{category.value}" for category in DeclineCategory),
    "lifted",
    "posts_specified",
    "posts_withheld",
    "hashtags_specified",
    "hashtags_restricted",
]
CSV_EXAMPLE = ",".join(CSV_COLUMNS) + "\r\nIN,MeitY,1,0,250,120,30,40,30,20,10,0,25,12,10,12,9\r\n"
DESCRIPTION = """\
Over the legal orders **received** in `[from, to)` (and of `country`, if given), one row per
(country, authority), sorted by country then authority:

- `orders`: orders received; `sealed_orders`: how many of them are sealed.
- `accounts_specified`: distinct accounts named in decisions about accounts on those orders.
- `withheld` / `withheld_global`: distinct accounts with a `withhold` / `withhold_global`
  decision on those orders (whether the rule was created then or was already active).
- `declined`: distinct accounts with a `decline` decision, per category.
- `lifted`: rules created for those orders (their provenance) that were lifted for any reason,
  expiry included, before `to`.
- `posts_specified` / `posts_withheld`: distinct posts named in decisions on those orders, and
  those with a `withhold` or `withhold_global` decision ("Tweets withheld").
- `hashtags_specified`: distinct hashtags named in decisions on those orders;
  `hashtags_restricted`: distinct hashtags with a `restrict` or `restrict_global` decision.

Decisions count whenever they were recorded. Sealed orders are counted but never named: all sealed
orders of a country make up one row of their own whose `authority` is null (empty in CSV), so no
row reveals a sealed order's authority. Rows never name orders.

`Accept: text/csv` gives the same rows as CSV (RFC 4180, header row first): the `declined`
categories become `declined_<category>` columns, and an authority starting with `=`, `+`, `-` or
`@` is prefixed with `'` so that spreadsheets do not run it as a formula.
"""


def _wants_csv(accept: str | None) -> bool:
    """True when the client prefers text/csv over JSON (q-values honoured, JSON wins ties)."""
    if not accept:
        return False
    best_csv = best_json = 0.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media == CSV_MEDIA_TYPE:
            best_csv = max(best_csv, quality)
        elif media in {"application/json", "application/*", "*/*"}:
            best_json = max(best_json, quality)
    return best_csv > best_json


def _cell(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text[0] in "=+-@" else text


def _csv(rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        declined = row.declined.model_dump()
        writer.writerow(
            [
                row.country,
                _cell(row.authority),
                row.orders,
                row.sealed_orders,
                row.accounts_specified,
                row.withheld,
                row.withheld_global,
                *(declined[category.value] for category in DeclineCategory),
                row.lifted,
                row.posts_specified,
                row.posts_withheld,
                row.hashtags_specified,
                row.hashtags_restricted,
            ]
        )
    return out.getvalue()


@router.get(
    "/reports/transparency",
    response_model=TransparencyReport,
    summary="Transparency report: orders, accounts named, withheld, declined and lifted",
    description=DESCRIPTION,
    responses={
        200: {
            "description": "The report (JSON, or CSV with `Accept: text/csv`).",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
        },
        **READ_ERRORS,
    },
)
async def get_transparency_report(
    runtime: RuntimeDep,
    since: Annotated[
        Instant,
        Query(
            alias="from",
            description="Orders received at or after this RFC 3339 instant.",
            examples=["2021-01-01T00:00:00Z"],
        ),
    ],
    until: Annotated[
        Instant,
        Query(
            alias="to",
            description="Orders received before this RFC 3339 instant.",
            examples=["2021-07-01T00:00:00Z"],
        ),
    ],
    country: Annotated[
        ViewerCountry | None, Query(description="Only orders from this country.")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    work = partial(service.build_report, since=since, until=until, country=country)
    found = await read(runtime, work, snapshot=True)
    rows = [
        ReportRow(
            country=row.country,
            authority=row.authority,
            orders=row.orders,
            sealed_orders=row.sealed_orders,
            accounts_specified=row.accounts_specified,
            withheld=row.withheld,
            withheld_global=row.withheld_global,
            declined=DeclinedCounts(**{c.value: n for c, n in row.declined.items()}),
            lifted=row.lifted,
            posts_specified=row.posts_specified,
            posts_withheld=row.posts_withheld,
            hashtags_specified=row.hashtags_specified,
            hashtags_restricted=row.hashtags_restricted,
        )
        for row in found
    ]
    if _wants_csv(accept):
        return Response(_csv(rows), media_type=CSV_MEDIA_TYPE)
    report = TransparencyReport(from_=since, to=until, rows=rows)
    return JsonResponse(report.model_dump(mode="json", by_alias=True))
