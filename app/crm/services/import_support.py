"""What the CSV imports of contacts and accounts share: the report, the all-or-nothing error, the
header check and the audit rows for bulk inserts (the flush hook only sees ORM objects)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context
from app.kernel.audit import AuditEntry
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, FieldError, Forbidden, ValidationFailed
from app.kernel.i18n import lazy, lazy_n
from app.security.permissions import CRM_ACCOUNT_WRITE
from app.security.principal import Principal

MAX_SHOWN_PROBLEMS = 500


@dataclass(frozen=True)
class RowProblem:
    line: int  # the line number people see in their editor (1 is the header)
    field: str  # the column
    message: str  # English msgid with {named} placeholders
    params: dict[str, Any] = dc_field(default_factory=dict)


@dataclass(frozen=True)
class DuplicateRow:
    """A row that looks like a record Tessera already has, or like an earlier row of the file."""

    line: int
    name: str
    email: str | None
    existing_id: int | None  # the contact (or account) it resembles; None for an earlier row
    existing_name: str
    account_name: str
    reason: str  # English msgid
    same_as_line: int | None = None


@dataclass
class ImportReport:
    kind: str  # "contacts" | "accounts"
    rows: int
    ignored_columns: list[str] = dc_field(default_factory=list)
    problems: list[RowProblem] = dc_field(default_factory=list)
    duplicates: list[DuplicateRow] = dc_field(default_factory=list)
    created: int = 0  # records written (or that would be, before confirming)
    skipped: int = 0  # duplicates left out
    accounts_created: int = 0
    accounts_matched: int = 0
    written: bool = False
    elapsed_ms: float = 0.0

    def finish(self, started: float) -> ImportReport:
        self.elapsed_ms = (time.perf_counter() - started) * 1000
        return self

    @property
    def problem_lines(self) -> int:
        return len({p.line for p in self.problems})


class ImportRejected(DomainError):
    """Nothing was written; ``report`` says which rows and why."""

    status = 422
    title = lazy("Import refused")

    def __init__(self, report: ImportReport, message: str | None = None) -> None:
        lines = report.problem_lines
        super().__init__(
            "import_rejected",
            message
            or lazy_n(
                "Nothing was imported: {n} row has a problem.",
                "Nothing was imported: {n} rows have problems.",
            ),
            params={"n": lines},
            errors=[FieldError(f"line {p.line}: {p.field}", p.message, p.params) for p in report.problems],
        )
        self.report = report


def may_import(principal: Principal) -> None:
    """Importing creates accounts and contacts: it needs the right to create them as well."""
    if principal.scope_for(CRM_ACCOUNT_WRITE) is None:
        raise Forbidden(lazy("Importing needs the permission to create accounts and contacts."))


def check_header(header: Sequence[str], known: Sequence[str], needs_one_of: Sequence[str]) -> list[str]:
    """The header must name at least one of ``needs_one_of``; returns the columns it ignores."""
    if not any(c in header for c in needs_one_of):
        raise ValidationFailed(
            [
                FieldError(
                    "file",
                    "The header row needs a column named {columns}.",
                    {"columns": " / ".join(needs_one_of)},
                )
            ]
        )
    return [c for c in header if c and c not in known]


def array_param(name: str, values: Sequence[Any], item: Any) -> Any:
    """A list bound as one PostgreSQL array (the rows of a set-based statement, via unnest)."""
    return bindparam(name, list(values), type_=ARRAY(item))


def unescape_cells(row: dict[str, str]) -> dict[str, str]:
    """Undo the formula guard of our own CSV exports (app/kernel/csvfile.py prefixes ' to cells
    starting with = + - @), so an exported list imports back as it was: "'+86 21 6123" → "+86 21 6123"."""
    return {k: v[1:] if len(v) > 1 and v[0] == "'" and v[1] in "=+-@" else v for k, v in row.items()}


def problems_of(line: int, errors: list[FieldError]) -> list[RowProblem]:
    return [RowProblem(line, e.field, e.message, e.params) for e in errors]


async def audit_inserted(session: AsyncSession, table: Table, ids: list[int], event: str) -> None:
    """One audit row per inserted record, as the flush hook would write it, in one statement."""
    if not ids:
        return
    ctx = context.current()
    row = table.alias("inserted")
    snapshot = func.to_jsonb(literal_column("inserted")).op("-")("search")
    stmt = insert(AuditEntry).from_select(
        ["at", "actor_kind", "actor_id", "actor_label", "action", "event", "entity_type", "entity_id",
         "before", "after", "ip", "user_agent", "request_id"],
        select(
            literal(utcnow()), literal(ctx.actor.kind), literal(ctx.actor.id, BigInteger),
            literal(ctx.actor.label[:254]), literal(f"{table.name}.create"), literal(event),
            literal(table.name), cast(row.c.id, Text), null(),
            snapshot, literal(ctx.ip), literal((ctx.user_agent or "")[:500] or None), literal(ctx.request_id),
        ).where(row.c.id == func.any(bindparam("audit_ids", ids, type_=ARRAY(BigInteger)))),
        include_defaults=False,
    )  # fmt: skip
    await session.execute(stmt)
