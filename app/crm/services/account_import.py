"""CSV import of accounts (CRM-1): the same all-or-nothing contract as contacts
(app/crm/services/contact_import.py), with account duplicates — the same name (case-insensitive),
e-mail or phone, or a similar company name — among the accounts the importer sees.

    report = await import_accounts(session, principal, csv_bytes, duplicates="skip")
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, Table, Text, func, insert, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account
from app.crm.services import accounts as account_rules
from app.crm.services.contact_import import MAX_ROWS, DuplicatePolicy
from app.crm.services.duplicates import (
    NAME_THRESHOLD,
    REASON_EMAIL,
    REASON_NAME,
    REASON_PHONE,
    core_expr,
    core_name,
    name_score,
    nearest_first,
)
from app.crm.services.fields import phone_digits
from app.crm.services.import_support import (
    DuplicateRow,
    ImportRejected,
    ImportReport,
    RowProblem,
    array_param,
    audit_inserted,
    check_header,
    may_import,
    problems_of,
    unescape_cells,
)
from app.crm.services.ownership import assignment_for
from app.crm.services.visibility import account_clause
from app.kernel.csvfile import read_csv
from app.kernel.errors import FieldError
from app.kernel.i18n import lazy
from app.security.permissions import CRM_ACCOUNT_WRITE
from app.security.principal import Principal

ACCOUNT_COLUMNS = (
    "name", "kind", "legal_name", "email", "phone", "website", "industry", "region", "country", "city",
    "address", "lifecycle_stage", "source", "tags", "needs",
)  # fmt: skip
TEXT_COLUMNS = tuple(c for c in ACCOUNT_COLUMNS if c != "tags")
REASON_SAME_NAME = lazy("Same name")


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    digits: str
    duplicate: DuplicateRow | None = None


def _rows(table: Any, problems: list[RowProblem]) -> list[_Row]:
    rows = []
    for line, raw in table.rows:
        errors: list[FieldError] = []
        values = account_rules._clean(unescape_cells(raw), errors, partial=False)  # the form's own rules
        values.pop("preferences", None)
        values["source"] = values.get("source") or "import"
        if errors:
            problems += problems_of(line, errors)
            continue
        rows.append(_Row(line, values, phone_digits(values.get("phone"))))
    return rows


def _in_file_duplicates(rows: list[_Row]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        keys = [("name", row.values["name"].lower()), ("email", row.values.get("email") or ""),
                ("phone", row.digits)]  # fmt: skip
        for kind, value in keys:
            if value and (kind, value) in seen and row.duplicate is None:
                reason = {"name": REASON_SAME_NAME, "email": REASON_EMAIL, "phone": REASON_PHONE}[kind]
                name, email = row.values["name"], row.values.get("email")
                first = seen[(kind, value)]
                row.duplicate = DuplicateRow(row.line, name, email, None, "", "", reason, same_as_line=first)
        for key in keys:
            if key[1]:
                seen.setdefault(key, row.line)


NEAREST = 5  # candidates per row for a similar name (their scores decide)


async def _existing_duplicates(session: AsyncSession, principal: Principal, rows: list[_Row]) -> None:
    r = (
        func.unnest(
            array_param("lines", [x.line for x in rows], Integer),
            array_param("names", [x.values["name"].lower() for x in rows], Text),
            array_param("cores", [core_name(x.values["name"]) for x in rows], Text),
            array_param("emails", [x.values.get("email") for x in rows], Text),
            array_param("digits", [x.digits or None for x in rows], Text),
        )
        .table_valued("line", "name", "core", "email", "digits")
        .render_derived(name="r")
    )
    clause = account_clause(principal)

    def branch(reason: str, on: Any) -> Any:
        stmt = (
            select(r.c.line, literal(reason).label("reason"), Account.id, Account.name)
            .select_from(r)
            .join(Account, on)
            .where(Account.merged_into_id.is_(None))
        )
        return stmt if clause is None else stmt.where(clause)

    # Similar names: for each row, the few nearest cores by KNN on the GiST index, then their
    # scores — bounded work per row. A join on ``core % r.core`` was not: where many accounts
    # look alike ("… Trading 123 Ltd") every row matched thousands of them (a 5,000-row file ran
    # for minutes on 50,000 accounts).
    candidates = select(Account.id, Account.name).where(Account.merged_into_id.is_(None))
    if clause is not None:
        candidates = candidates.where(clause)
    near = candidates.order_by(nearest_first(Account.name, r.c.core)).limit(NEAREST).lateral("near")
    similar = (
        select(r.c.line, literal(REASON_NAME).label("reason"), near.c.id, near.c.name)
        .select_from(r)
        .join(near, true())
        .where(func.length(r.c.core) >= 2)
        .where(name_score(core_expr(near.c.name), r.c.core) >= NAME_THRESHOLD)
    )
    query = branch(REASON_SAME_NAME, func.lower(Account.name) == r.c.name).union_all(
        branch(REASON_EMAIL, func.lower(Account.email) == r.c.email),
        branch(REASON_PHONE, Account.phone_digits == r.c.digits),
        similar,
    )
    priority = {REASON_SAME_NAME: 0, REASON_EMAIL: 1, REASON_PHONE: 2, REASON_NAME: 3}
    best: dict[int, Any] = {}
    for hit in (await session.execute(query)).all():
        if hit.line not in best or priority[hit.reason] < priority[best[hit.line].reason]:
            best[hit.line] = hit
    for row in rows:
        if (match := best.get(row.line)) is not None:
            name, email = row.values["name"], row.values.get("email")
            row.duplicate = DuplicateRow(
                row.line, name, email, match.id, match.name, match.name, match.reason
            )


async def _insert(session: AsyncSession, principal: Principal, rows: list[_Row]) -> list[int]:
    if not rows:
        return []
    errors: list[FieldError] = []
    owner = await assignment_for(session, principal, CRM_ACCOUNT_WRITE, None, errors)
    arrays = [array_param(f"a_{c}", [r.values.get(c) for r in rows], Text) for c in TEXT_COLUMNS]
    src = (
        func.unnest(
            array_param("a_tags", [",".join(r.values["tags"]) for r in rows], Text),  # tags never hold commas
            array_param("a_ord", list(range(len(rows))), Integer),
            *arrays,
        )
        .table_valued("tags", "ord", *TEXT_COLUMNS)
        .render_derived(name="src")
    )
    table = cast(Table, Account.__table__)
    text_values = [func.coalesce(src.c[c], "") if c == "needs" else src.c[c] for c in TEXT_COLUMNS]
    stmt = (
        insert(table)
        .from_select(
            [*TEXT_COLUMNS, "tags", "owner_id", "team_id"],
            select(*text_values, func.string_to_array(src.c.tags, ","), literal(owner.owner_id, BigInteger),
                   literal(owner.team_id, BigInteger)).order_by(src.c.ord),
            include_defaults=False,
        )
        .returning(table.c.id)
    )  # fmt: skip
    ids = [int(i) for i in (await session.execute(stmt)).scalars()]
    await audit_inserted(session, table, ids, "crm.accounts_imported")
    return ids


async def import_accounts(
    session: AsyncSession,
    principal: Principal,
    data: bytes,
    *,
    duplicates: DuplicatePolicy = "stop",
    dry_run: bool = False,
) -> ImportReport:
    started = time.perf_counter()
    may_import(principal)
    table = read_csv(data, max_rows=MAX_ROWS)
    ignored = check_header(table.header, ACCOUNT_COLUMNS, ("name",))
    report = ImportReport(kind="accounts", rows=len(table.rows), ignored_columns=ignored)
    rows = _rows(table, report.problems)
    if report.problems:
        raise ImportRejected(report.finish(started))
    _in_file_duplicates(rows)
    if rows:
        await _existing_duplicates(session, principal, rows)
    report.duplicates = [r.duplicate for r in rows if r.duplicate is not None]
    to_write = [r for r in rows if r.duplicate is None or duplicates == "import"]
    report.created = report.accounts_created = len(to_write)
    report.skipped = len(rows) - len(to_write)
    if report.duplicates and duplicates == "stop":
        raise ImportRejected(
            report.finish(started), lazy("Nothing was imported: some rows look like duplicates.")
        )
    if not dry_run:
        await _insert(session, principal, to_write)
        report.written = True
    return report.finish(started)
