"""CSV import and export of rules, for trust-and-safety staff working from spreadsheets.

Import reads ``account,country[,reason,order_ref,expires_at]`` (a header line is optional),
validates every line with the API's own rules before writing anything, and then writes all of
it in one transaction: a bad line means nothing is written, and the error names the line.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from pydantic import ValidationError

from app.db import Database
from app.domain import WriteResult
from app.repositories import exports
from app.schemas.common import AccountId, RuleCountry
from app.schemas.rules import RuleWrite
from app.services import withholdings as service
from app.services.withholdings import RuleTerms

COLUMNS = ("account", "country", "reason", "order_ref", "expires_at")
EXPORT_COLUMNS = ("account", "country", "reason", "order_ref", "expires_at", "created_at")
MAX_ERRORS = 20


class ImportedRule(RuleWrite):
    account: AccountId
    country: RuleCountry


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


class InvalidImportError(ValueError):
    def __init__(self, errors: list[LineError], total_errors: int) -> None:
        self.errors = errors
        self.total_errors = total_errors
        more = f" (and {total_errors - len(errors)} more)" if total_errors > len(errors) else ""
        super().__init__("\n".join(map(str, errors)) + more)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    rows: int
    created: int
    already_active: int
    duplicates: int
    revision: int


def parse_rules(
    lines: Iterable[str],
    *,
    default_reason: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[service.Item], list[RuleTerms]]:
    """Validate every line; raise ``InvalidImportError`` naming the bad lines, or return all."""
    items: list[service.Item] = []
    terms: list[RuleTerms] = []
    errors: list[LineError] = []
    total_errors = 0
    reader = csv.reader(lines)
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if line == 1 and row[0].strip().lower() == "account":
            continue  # header
        if len(row) > len(COLUMNS):
            total_errors += 1
            if len(errors) < MAX_ERRORS:
                errors.append(LineError(line, "row", f"expected at most {len(COLUMNS)} columns"))
            continue
        values: dict[str, object] = {
            name: cell.strip() for name, cell in zip(COLUMNS, row, strict=False) if cell.strip()
        }
        if "reason" not in values and default_reason is not None:
            values["reason"] = default_reason
        try:
            rule = ImportedRule.model_validate(values)
        except ValidationError as invalid:
            total_errors += 1
            if len(errors) < MAX_ERRORS:
                first = invalid.errors()[0]
                field = ".".join(str(part) for part in first["loc"]) or "row"
                errors.append(LineError(line, field, first["msg"]))
            continue
        items.append((rule.account, rule.country, None))
        terms.append(
            RuleTerms(reason=rule.reason, order_ref=rule.order_ref, expires_at=rule.expires_at)
        )
        if progress is not None and len(items) % 10_000 == 0:
            progress(len(items))
    if total_errors:
        raise InvalidImportError(errors, total_errors)
    if not items:
        raise InvalidImportError([LineError(0, "file", "no rules found")], 1)
    return items, terms


def import_rules(
    db: Database,
    items: list[service.Item],
    terms: list[RuleTerms],
    *,
    actor: str,
) -> ImportSummary:
    """Write every rule in one transaction (all or nothing)."""
    with db.writing() as session:
        outcome = service.bulk_withhold(
            session, items=items, terms=terms, actor=actor, now=datetime.now(UTC)
        )
    result: WriteResult = outcome.result
    return ImportSummary(
        rows=len(items),
        created=outcome.created,
        already_active=outcome.already_active,
        duplicates=outcome.duplicates,
        revision=result.revision,
    )


def export_rules(db: Database, out: TextIO) -> int:
    """Write every active rule as CSV (with a header); returns the number of rules."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in _active_rows(db):
        writer.writerow(row)
        count += 1
    return count


def _active_rows(db: Database) -> Iterator[tuple[str, ...]]:
    with db.reading() as session:
        for rule in exports.stream_active(session):
            yield (
                str(rule.account_id),
                rule.country,
                rule.reason,
                rule.order_ref or "",
                rule.expires_at.isoformat() if rule.expires_at else "",
                rule.created_at.isoformat(),
            )


def read_text(path: str) -> TextIO:
    """A file, or stdin for ``-``, read as UTF-8 (a BOM from spreadsheet exports is dropped)."""
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")
