"""Importing leads from CSV (CRM-2, PLAT-13): all rows or none, with a row-by-row report.

Every row is checked with the same rules as a lead typed into the portal. If any row has a
problem, nothing is written and the report lists each problem by line. Rows whose e-mail address
already belongs to a lead or a contact (or to an earlier line of the file) are duplicates: they
are reported and, when ``skip_duplicates`` is set, left out.

    report = await import_leads(session, principal, data, skip_duplicates=True, owner="rules")
    report.created, report.skipped, report.duplicates        # ImportRejected(report) on problems

Leads without an owner column go through the assignment rules (one lock per rule for the whole
file); each owner gets one notification for the batch, not one per row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.models import Contact, Lead
from app.crm.notifications import LEAD_ASSIGNED
from app.crm.services.lead_assignment import Router
from app.crm.services.leads import clean_new_lead
from app.crm.services.ownership import Assignment, assignment_for
from app.kernel import context, i18n
from app.kernel.audit import audited
from app.kernel.csvfile import read_csv
from app.kernel.errors import FieldError, Forbidden, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.notifications.interface import notify
from app.security.models import User
from app.security.permissions import CRM_LEAD_WRITE
from app.security.principal import Principal

MAX_ROWS = 10_000
# Header names people use, mapped to the lead's fields (headers are normalised by read_csv).
ALIASES = {
    "name": "full_name", "contact": "full_name", "contact_name": "full_name", "姓名": "full_name",
    "联系人": "full_name", "e_mail": "email", "email_address": "email", "邮箱": "email",
    "电子邮件": "email", "電子郵件": "email", "mobile": "phone", "telephone": "phone", "电话": "phone",
    "手机": "phone", "電話": "phone", "手機": "phone", "organisation": "company", "organization": "company",
    "公司": "company", "company_name": "company", "job_title": "title", "职位": "title", "職位": "title",
    "地区": "region", "地區": "region", "区域": "region", "国家": "country", "country_code": "country",
    "行业": "industry", "notes": "message", "note": "message", "备注": "message", "備註": "message",
    "owner": "owner_email", "负责人": "owner_email",
}  # fmt: skip
KNOWN = {"full_name", "first_name", "last_name", "email", "phone", "company", "title", "region", "country",
         "industry", "source", "message", "score", "campaign_id", "owner_email"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    field: str
    message: str  # English msgid with {named} parameters
    params: dict[str, Any] = dc_field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Duplicate:
    line: int
    email: str
    lead_id: int | None = None
    contact_id: int | None = None
    earlier_line: int | None = None


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    skipped: int = 0
    problems: list[RowProblem] = dc_field(default_factory=list)
    duplicates: list[Duplicate] = dc_field(default_factory=list)
    ignored_columns: list[str] = dc_field(default_factory=list)
    lead_ids: list[int] = dc_field(default_factory=list)


class ImportRejected(ValidationFailed):
    """Some rows are not acceptable: nothing was imported; ``report`` says which and why."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            [FieldError(f"line {p.line}: {p.field}", p.message, p.params) for p in report.problems],
            lazy("Nothing was imported: some rows have problems."),
        )
        self.code = "import_rejected"
        self.report = report


def _rows(data: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    table = read_csv(data, max_rows=MAX_ROWS)
    header = [ALIASES.get(h, h) for h in table.header]
    if "full_name" not in header and "first_name" not in header and "last_name" not in header:
        raise ValidationFailed(
            [FieldError("file", "The header row needs a name column (full_name or name).")]
        )
    if "email" not in header and "phone" not in header:
        raise ValidationFailed([FieldError("file", "The header row needs an email or a phone column.")])
    ignored = [h for h in table.header if ALIASES.get(h, h) not in KNOWN]
    rows = [(line, {ALIASES.get(k, k): v for k, v in row.items()}) for line, row in table.rows]
    return rows, ignored


async def import_leads(
    session: AsyncSession,
    principal: Principal,
    data: bytes,
    *,
    skip_duplicates: bool = True,
    owner: str = "rules",
    source_detail: str | None = None,
) -> ImportReport:
    """``owner``: ``rules`` (assignment rules), ``me``, or a user id for every row without an
    ``owner_email`` column value."""
    if not principal.can(CRM_LEAD_WRITE):
        raise Forbidden()
    rows, ignored = _rows(data)
    report = ImportReport(rows=len(rows), ignored_columns=ignored)
    owners = _Owners(session, principal)
    default_owner = await owners.default(owner, report)
    cleaned: list[tuple[int, dict[str, Any], Assignment | None]] = []
    for line, row in rows:
        errors: list[FieldError] = []
        values = await clean_new_lead(session, row, errors, default_source="import")
        if source_detail and not values.get("source_detail"):
            values["source_detail"] = source_detail[:200]
        owner_email = row.get("owner_email", "").strip()
        chosen = await owners.for_row(owner_email, errors) if owner_email else default_owner
        report.problems.extend(RowProblem(line, e.field, e.message, e.params) for e in errors)
        cleaned.append((line, values, chosen))
    if report.problems:
        raise ImportRejected(report)
    report.duplicates = await _duplicates(session, cleaned)
    skip = {d.line for d in report.duplicates} if skip_duplicates else set()
    report.skipped = len(skip)
    await _insert(session, principal, [(v, a) for line, v, a in cleaned if line not in skip], report)
    return report


class _Owners:
    """Owner choices resolved once per distinct value, checked against the importer's scope."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session, self.principal = session, principal
        self._by_email: dict[str, tuple[Assignment | None, list[FieldError]]] = {}

    async def default(self, owner: str, report: ImportReport) -> Assignment | None:
        if owner == "rules":
            return None
        errors: list[FieldError] = []
        chosen = await assignment_for(
            self.session,
            self.principal,
            CRM_LEAD_WRITE,
            self.principal.id
            if owner == "me"
            else (int(owner) if owner.isdigit() and len(owner) < 18 else -1),
            errors,
            field="owner",
        )
        if errors:
            raise ValidationFailed(errors)
        return chosen

    async def for_row(self, email: str, errors: list[FieldError]) -> Assignment | None:
        key = email.strip().lower()
        if key not in self._by_email:
            problems: list[FieldError] = []
            user_id = await self.session.scalar(select(User.id).where(func.lower(User.email) == key))
            chosen = None
            if user_id is None:
                problems.append(
                    FieldError("owner_email", "No staff member has the e-mail {email}.", {"email": key})
                )
            else:
                chosen = await assignment_for(
                    self.session, self.principal, CRM_LEAD_WRITE, int(user_id), problems, field="owner_email"
                )
            self._by_email[key] = (chosen, problems)
        chosen, problems = self._by_email[key]
        errors.extend(problems)
        return None if problems else chosen


async def _duplicates(
    session: AsyncSession, cleaned: list[tuple[int, dict[str, Any], Any]]
) -> list[Duplicate]:
    emails = {v["email"] for _, v, _ in cleaned if v.get("email")}
    leads: dict[str, int] = {}
    contacts: dict[str, int] = {}
    for chunk in _chunks(sorted(emails), 1000):
        found = await session.execute(
            select(func.lower(Lead.email), func.min(Lead.id))
            .where(func.lower(Lead.email).in_(chunk))
            .group_by(func.lower(Lead.email))
        )
        leads.update({e: int(i) for e, i in found.all()})
        found = await session.execute(
            select(func.lower(Contact.email), func.min(Contact.id))
            .where(func.lower(Contact.email).in_(chunk), Contact.archived_at.is_(None))
            .group_by(func.lower(Contact.email))
        )
        contacts.update({e: int(i) for e, i in found.all()})
    first_line: dict[str, int] = {}
    out: list[Duplicate] = []
    for line, values, _ in cleaned:
        email = values.get("email")
        if not email:
            continue
        if email in leads or email in contacts:
            out.append(Duplicate(line, email, leads.get(email), contacts.get(email)))
        elif email in first_line:
            out.append(Duplicate(line, email, earlier_line=first_line[email]))
        else:
            first_line[email] = line
    return out


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _insert(
    session: AsyncSession,
    principal: Principal,
    rows: list[tuple[dict[str, Any], Assignment | None]],
    report: ImportReport,
) -> None:
    router = Router(session)
    leads: list[Lead] = []
    async with audited(session, "crm.leads_imported"):
        for values, chosen in rows:
            if chosen is None:
                routed = await router.route(source=values["source"], region=values.get("region"))
                chosen = Assignment(routed.owner_id, routed.team_id)
            leads.append(Lead(**values, owner_id=chosen.owner_id, team_id=chosen.team_id))
        session.add_all(leads)
        await session.flush()
    await router.save()
    for lead in leads:
        await publish(
            session,
            events.LEAD_CREATED,
            {"lead_id": lead.id, "source": lead.source, "owner_id": lead.owner_id},
        )
    report.created = len(leads)
    report.lead_ids = [lead.id for lead in leads]
    per_owner = Counter(lead.owner_id for lead in leads if lead.owner_id and lead.owner_id != principal.id)
    for owner_id, count in per_owner.items():
        await _notify_batch(session, owner_id, count)


async def _notify_batch(session: AsyncSession, owner_id: int, count: int) -> None:
    owner = await session.get(User, owner_id)
    if owner is None:
        return
    tenant = context.current_tenant()
    with i18n.use_locale(owner.locale or (tenant.locale if tenant else None)):
        title = i18n.ngettext(
            "{count} imported lead is assigned to you",
            "{count} imported leads are assigned to you",
            count,
            count=count,
        )
    await notify(
        session, owner.id, LEAD_ASSIGNED, title=title, link="/sales/leads?f_owner=me&f_source=import"
    )
