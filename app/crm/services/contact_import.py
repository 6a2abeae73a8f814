"""CSV import of contacts and accounts (CRM-1, PLAT-13): all or nothing, with a row-by-row report.

Every row is cleaned by the same rules as the forms; any problem rejects the whole file and
nothing is written (``ImportRejected`` carries the report: line, column, message). Duplicates —
an existing contact with the same e-mail or phone digits, or a very similar name at the same
account; another row of the file with the same e-mail or phone — are reported, and the caller
chooses: stop (nothing written, the default), skip them, or import them anyway.

Set-based, so 10,000 rows cost a handful of statements, not 10,000 round trips: one lookup of the
named accounts, one duplicate query joining the rows (as ``unnest`` arrays) to the contacts, one
``INSERT ... SELECT FROM unnest(...) RETURNING`` for new accounts and one for contacts, and the
audit rows written by ``INSERT ... SELECT`` from what was inserted.

    report = await import_contacts(session, principal, csv_bytes, duplicates="skip")
    report.created, report.accounts_created, report.skipped
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    Table,
    Text,
    any_,
    func,
    insert,
    literal,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact
from app.crm.services import contacts as contact_rules
from app.crm.services.duplicates import PERSON_THRESHOLD, REASON_EMAIL, REASON_NAME, REASON_PHONE
from app.crm.services.fields import clean_optional_text, clean_tags, clean_text, phone_digits
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
from app.security.record_rules import can_write

DuplicatePolicy = Literal["stop", "skip", "import"]
MAX_ROWS = 20_000
CONTACT_COLUMNS = (
    "account_name", "first_name", "last_name", "full_name", "title", "email", "phone", "mobile", "notes",
    "region", "tags",
)  # fmt: skip
NAME_COLUMNS = ("full_name", "first_name", "last_name")
DUPLICATES_FOUND = lazy("Nothing was imported: some rows look like duplicates.")
REASON_HIDDEN_ACCOUNT = lazy("An account with this name belongs to someone else")


@dataclass
class _Row:
    line: int
    account_key: str  # lower(account name); "" = the person is their own account
    account_name: str
    region: str | None
    tags: list[str]
    contact: dict[str, Any]
    digits: str = ""
    account_id: int | None = None  # an existing account, once matched
    duplicate: DuplicateRow | None = None


@dataclass
class _Plan:
    rows: list[_Row] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    new_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → values
    matched: dict[str, int] = field(default_factory=dict)  # key → existing account id


def _clean_row(line: int, raw: Mapping[str, str], plan: _Plan) -> None:
    errors: list[FieldError] = []
    contact = contact_rules._clean(raw, errors, partial=False)  # the form's own rules
    contact.pop("is_primary", None)
    account_name = clean_text(raw.get("account_name"), "account_name", errors, max_len=200)
    region = clean_optional_text(raw.get("region"), "region", errors, max_len=80)
    tags = clean_tags(raw.get("tags"), "tags", errors)
    if errors:
        plan.problems += problems_of(line, errors)
        return
    key = account_name.lower()
    plan.rows.append(
        _Row(
            line=line,
            account_key=key,
            account_name=account_name or contact["full_name"],
            region=region,
            tags=tags,
            contact=contact,
            digits=phone_digits(contact.get("phone")) or phone_digits(contact.get("mobile")),
        )
    )


async def _match_accounts(session: AsyncSession, principal: Principal, plan: _Plan) -> None:
    """Accounts named in the file: matched by exact name (case-insensitive) among the accounts the
    importer sees — which they must be allowed to change — or created, owned by the importer.

    A name that only an account the importer cannot see carries is not matched (record rules) but
    flagged as a duplicate row, so a rep's trade-fair list does not silently create a second
    account next to a colleague's: "skip" leaves those rows out, "import anyway" creates it."""
    keys = sorted({r.account_key for r in plan.rows if r.account_key})
    found: dict[str, Account] = {}
    hidden: set[str] = set()
    if keys:
        clause = account_clause(principal)
        visible = clause if clause is not None else true()
        stmt = (
            select(Account, visible.label("visible"))
            .where(func.lower(Account.name) == any_(array_param("keys", keys, Text)))
            .where(Account.merged_into_id.is_(None))
            .order_by(Account.id)
        )
        # pg_trgm's GIN index on lower(name) also serves ``=``, and the planner prices a bitmap
        # scan of it far below its cost for a list of names: 23 s for 1,000 names on 50,000
        # accounts whose names share trigrams (bench/crm_contact_import.py). For this one lookup,
        # no bitmap scans: the btree on lower(name) answers the list in milliseconds.
        await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        try:
            matched = (await session.execute(stmt)).all()
        finally:
            await session.execute(text("RESET enable_bitmapscan"))
        for account, is_visible in matched:
            if is_visible:
                found.setdefault(account.name.lower(), account)
            else:
                hidden.add(account.name.lower())
    for row in plan.rows:
        account = found.get(row.account_key) if row.account_key else None
        if account is not None:
            if not can_write(account, principal, CRM_ACCOUNT_WRITE):
                plan.problems.append(
                    RowProblem(row.line, "account_name", "You may not add people to this account.")
                )
                continue
            row.account_id = account.id
            plan.matched[row.account_key] = account.id
            continue
        if row.account_key in hidden:
            name, email = row.contact["full_name"], row.contact.get("email")
            row.duplicate = DuplicateRow(
                row.line, name, email, None, "", row.account_name, REASON_HIDDEN_ACCOUNT
            )
        key = row.account_key or f"\0person:{row.line}"  # one person account per such row
        row.account_key = key
        new = plan.new_accounts.setdefault(
            key,
            {
                "name": row.account_name,
                "kind": "company" if not key.startswith("\0") else "person",
                "region": row.region,
                "tags": [],
            },
        )
        new["region"] = new["region"] or row.region
        new["tags"] += [t for t in row.tags if t.lower() not in {x.lower() for x in new["tags"]}]


async def _find_duplicates(session: AsyncSession, principal: Principal, plan: _Plan) -> None:
    """Mark rows that match an existing contact (one query) or an earlier row of the file."""
    first_email: dict[str, int] = {}
    first_phone: dict[str, int] = {}
    for row in plan.rows:
        email = row.contact.get("email")
        earlier = (REASON_EMAIL, first_email.get(email)) if email in first_email else None
        if earlier is None and row.digits in first_phone:
            earlier = (REASON_PHONE, first_phone[row.digits])
        if earlier is not None and row.duplicate is None:
            reason, line = earlier
            row.duplicate = DuplicateRow(
                row.line, row.contact["full_name"], email, None, "", "", reason, line
            )
        if email:
            first_email.setdefault(email, row.line)
        if row.digits:
            first_phone.setdefault(row.digits, row.line)
    if not plan.rows:
        return
    r = (
        func.unnest(
            array_param("lines", [x.line for x in plan.rows], Integer),
            array_param("emails", [x.contact.get("email") for x in plan.rows], Text),
            array_param("digits", [x.digits or None for x in plan.rows], Text),
            array_param("names", [x.contact["full_name"].lower() for x in plan.rows], Text),
            array_param("accounts", [x.account_id for x in plan.rows], BigInteger),
        )
        .table_valued("line", "email", "digits", "name", "account_id")
        .render_derived(name="r")
    )
    clause = account_clause(principal)

    def branch(reason: str, on: Any) -> Any:
        stmt = (
            select(r.c.line, literal(reason).label("reason"), Contact.id, Contact.full_name, Contact.email,
                   Account.name.label("account_name"))
            .select_from(r)
            .join(Contact, on)
            .join(Account, Account.id == Contact.account_id)
            .where(Contact.archived_at.is_(None), Account.merged_into_id.is_(None))
        )  # fmt: skip
        return stmt if clause is None else stmt.where(clause)

    similar = func.public.similarity(func.lower(Contact.full_name), r.c.name) >= PERSON_THRESHOLD
    query = branch(REASON_EMAIL, func.lower(Contact.email) == r.c.email).union_all(
        branch(REASON_PHONE, Contact.phone_digits == r.c.digits),
        branch(REASON_NAME, (Contact.account_id == r.c.account_id) & similar),
    )
    priority = {REASON_EMAIL: 0, REASON_PHONE: 1, REASON_NAME: 2}
    best: dict[int, Any] = {}
    for hit in (await session.execute(query)).all():
        current = best.get(hit.line)
        if current is None or priority[hit.reason] < priority[current.reason]:
            best[hit.line] = hit
    for row in plan.rows:
        match = best.get(row.line)
        if match is not None:
            name, email = row.contact["full_name"], row.contact.get("email")
            row.duplicate = DuplicateRow(
                row.line, name, email, match.id, match.full_name, match.account_name, match.reason
            )


async def _insert_accounts(
    session: AsyncSession, principal: Principal, accounts: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Create the new accounts in one statement; returns key → id."""
    if not accounts:
        return {}
    errors: list[FieldError] = []
    owner = await assignment_for(session, principal, CRM_ACCOUNT_WRITE, None, errors)
    keys = list(accounts)
    values = [accounts[k] for k in keys]
    src = (
        func.unnest(
            array_param("a_names", [v["name"] for v in values], Text),
            array_param("a_kinds", [v["kind"] for v in values], Text),
            array_param("a_regions", [v["region"] for v in values], Text),
            array_param("a_tags", [",".join(v["tags"]) for v in values], Text),  # tags never hold commas
            array_param("a_ord", list(range(len(values))), Integer),
        )
        .table_valued("name", "kind", "region", "tags", "ord")
        .render_derived(name="src")
    )
    table = cast(Table, Account.__table__)
    stmt = (
        insert(table)
        .from_select(
            ["name", "kind", "lifecycle_stage", "region", "tags", "source", "owner_id", "team_id"],
            select(
                src.c.name, src.c.kind, literal("prospect"), src.c.region,
                func.string_to_array(src.c.tags, ","), literal("import"),
                literal(owner.owner_id, BigInteger), literal(owner.team_id, BigInteger),
            ).order_by(src.c.ord),
            include_defaults=False,
        )
        .returning(table.c.id)
    )  # fmt: skip
    ids = [int(i) for i in (await session.execute(stmt)).scalars()]
    await audit_inserted(session, table, ids, "crm.accounts_imported")
    return dict(zip(keys, ids, strict=True))


async def _insert_contacts(session: AsyncSession, rows: list[_Row], primary_for: set[str]) -> list[int]:
    if not rows:
        return []
    first_of: dict[str, int] = {}
    for i, row in enumerate(rows):
        first_of.setdefault(row.account_key, i)
    cols = ("first_name", "last_name", "full_name", "title", "email", "phone", "mobile", "notes")
    arrays = [array_param(f"c_{c}", [r.contact.get(c) for r in rows], Text) for c in cols]
    primary = [
        row.account_key in primary_for and first_of[row.account_key] == i for i, row in enumerate(rows)
    ]
    src = (
        func.unnest(
            array_param("c_account", [r.account_id for r in rows], BigInteger),
            array_param("c_primary", primary, Boolean),
            array_param("c_ord", list(range(len(rows))), Integer),
            *arrays,
        )
        .table_valued("account_id", "is_primary", "ord", *cols)
        .render_derived(name="src")
    )
    table = cast(Table, Contact.__table__)
    columns = ["account_id", "is_primary", *cols]
    stmt = (
        insert(table)
        .from_select(
            columns,
            select(
                *(src.c[c] if c not in ("notes",) else func.coalesce(src.c[c], "") for c in columns)
            ).order_by(src.c.ord),
            include_defaults=False,
        )
        .returning(table.c.id)
    )
    ids = [int(i) for i in (await session.execute(stmt)).scalars()]
    await audit_inserted(session, table, ids, "crm.contacts_imported")
    return ids


async def import_contacts(
    session: AsyncSession,
    principal: Principal,
    data: bytes,
    *,
    duplicates: DuplicatePolicy = "stop",
    dry_run: bool = False,
) -> ImportReport:
    """Import the contacts of a CSV file (and the accounts it names) in the caller's transaction.

    ``ImportRejected`` (nothing written) when a row has a problem, or when duplicates were found
    and ``duplicates`` is "stop". ``dry_run`` checks everything and writes nothing.
    """
    started = time.perf_counter()
    may_import(principal)
    table = read_csv(data, max_rows=MAX_ROWS)
    ignored = check_header(table.header, CONTACT_COLUMNS, NAME_COLUMNS)
    plan = _Plan()
    for line, raw in table.rows:
        _clean_row(line, unescape_cells(raw), plan)
    await _match_accounts(session, principal, plan)
    report = ImportReport(kind="contacts", rows=len(table.rows), ignored_columns=ignored)
    report.problems = sorted(plan.problems, key=lambda p: (p.line, p.field))
    if report.problems:
        raise ImportRejected(report.finish(started))
    await _find_duplicates(session, principal, plan)
    report.duplicates = [r.duplicate for r in plan.rows if r.duplicate is not None]
    to_write = [r for r in plan.rows if r.duplicate is None or duplicates == "import"]
    keys = {r.account_key for r in to_write}
    new_accounts = {k: v for k, v in plan.new_accounts.items() if k in keys}
    report.accounts_matched = len({r.account_id for r in to_write if r.account_id is not None})
    report.accounts_created = len(new_accounts)
    report.skipped = len(plan.rows) - len(to_write)
    report.created = len(to_write)
    if report.duplicates and duplicates == "stop":
        raise ImportRejected(report.finish(started), DUPLICATES_FOUND)
    if dry_run:
        return report.finish(started)
    created = await _insert_accounts(session, principal, new_accounts)
    for row in to_write:
        if row.account_id is None:
            row.account_id = created[row.account_key]
    await _insert_contacts(session, to_write, primary_for=set(created))
    report.written = True
    return report.finish(started)
