"""Contacts: list, create/edit, invite to the customer portal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Activity, Contact
from app.crm.services import accounts, activities, contacts, customer_lists, portal_access
from app.kernel import i18n
from app.kernel.errors import DomainError, NotFound
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import (
    ADMIN_USERS_MANAGE,
    CRM_ACCOUNT_MERGE,
    CRM_ACCOUNT_READ,
    CRM_ACCOUNT_WRITE,
)
from app.security.record_rules import can_write
from portals.crm.forms import NAV_SECTION, STAGE_LABELS, contact_input, contact_values
from portals.exports import ExportColumn, csv_export
from portals.forms import optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/crm/contacts"
RESOURCE = "crm_contacts"

register(NavItem(NAV_SECTION, lazy("Contacts"), BASE, CRM_ACCOUNT_READ, icon="users", order=20))


def contacts_table(
    regions: Sequence[str] = (),
    tags: Sequence[str] = (),
    owners: Sequence[tuple[int, str]] = (),
    *,
    free_filters: bool = False,
) -> TableSpec:
    def choices(items: Any) -> list[tuple[str, str]]:
        return [] if free_filters else list(items)

    return TableSpec(
        columns=[
            Column("name", lazy("Name"), sort=Contact.full_name),
            Column("account", lazy("Account"), sort=Account.name),
            Column("title", lazy("Job title"), sort=Contact.title),
            Column("email", lazy("E-mail"), sort=Contact.email),
            Column("phone", lazy("Phone")),
            Column("owner", lazy("Account manager")),
            Column("updated", lazy("Updated"), sort=Contact.updated_at),
        ],
        default_sort="name",
        filters=[
            Filter("stage", lazy("Stage"), customer_lists.with_stage, list(STAGE_LABELS.items())),
            Filter("region", lazy("Region"), customer_lists.with_region, choices((r, r) for r in regions)),
            Filter("tag", lazy("Tag"), customer_lists.with_tag, choices((t, t) for t in tags)),
            Filter(
                "owner",
                lazy("Account manager"),
                customer_lists.with_owner,
                choices([(customer_lists.NO_OWNER, lazy("Nobody")), *((str(i), n) for i, n in owners)]),
            ),
        ],
        search=customer_lists.search_contacts,
        tiebreak=Contact.id,
    )


def _contact_export_columns() -> list[ExportColumn]:
    return [
        ExportColumn("ID", lambda r: r[0].id),
        ExportColumn(lazy("Full name"), lambda r: r[0].full_name),
        ExportColumn(lazy("First name"), lambda r: r[0].first_name),
        ExportColumn(lazy("Last name"), lambda r: r[0].last_name),
        ExportColumn(lazy("Job title"), lambda r: r[0].title),
        ExportColumn(lazy("E-mail"), lambda r: r[0].email),
        ExportColumn(lazy("Phone"), lambda r: r[0].phone),
        ExportColumn(lazy("Mobile"), lambda r: r[0].mobile),
        ExportColumn(lazy("Primary contact"), lambda r: i18n.gettext("yes") if r[0].is_primary else ""),
        ExportColumn(lazy("Account ID"), lambda r: r[0].account_id),
        ExportColumn(lazy("Account"), lambda r: r[1]),
        ExportColumn(lazy("Updated"), lambda r: r[0].updated_at.isoformat()),
    ]


@get(BASE, opt=perm(CRM_ACCOUNT_READ))
async def contact_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    fragment = wants_fragment(request)
    if fragment:
        spec = contacts_table(free_filters=True)
    else:
        spec = contacts_table(
            await customer_lists.region_choices(db, p),
            await customer_lists.tag_choices(db, p),
            await customer_lists.staff_choices(db),
        )
    stmt = customer_lists.contacts_list(p).add_columns(Account.name, Account.owner_id)
    page = await fetch_page(db, stmt, spec, parse_query(request.query_params, spec), scalars=False)
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "owners": await customer_lists.user_names(db, (row[2] for row in page.rows)),
        "tz": viewer_tz(request),
    }
    return render(request, "crm/_contacts_table.html" if fragment else "crm/contacts.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_ACCOUNT_READ))
async def contact_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    stmt = customer_lists.contacts_list(principal(request)).add_columns(Account.name)
    spec = contacts_table(free_filters=True)
    return await csv_export(request, db, stmt, spec, _contact_export_columns(), "contacts", scalars=False)


async def _form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState,
    *,
    contact: Contact | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    account = None
    account_id = optional_id(form.value("account_id"))
    if account_id:
        try:
            account = await accounts.get_account(db, p, account_id)
        except NotFound:
            account = None
    return render(
        request, "crm/contact_form.html", status=status, form=form, contact=contact, account=account
    )


@get(f"{BASE}/new", opt=perm(CRM_ACCOUNT_WRITE))
async def contact_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _form(request, db, FormState({"account_id": request.query_params.get("account_id") or ""}))


@post(BASE, opt=perm(CRM_ACCOUNT_WRITE))
async def contact_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    data = contact_input(form)
    data["account_id"] = form.get("account_id")
    try:
        contact = await contacts.create_contact(db, principal(request), data)
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("{name} is added.", name=contact.full_name))
    back = form.get("back") == "account"
    return redirect(f"/crm/accounts/{contact.account_id}" if back else f"{BASE}/{contact.id}", request)


async def recent_interactions(db: AsyncSession, contact: Contact, limit: int = 20) -> list[Activity]:
    stmt = (
        select(Activity)
        .where(Activity.contact_id == contact.id)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


@get(f"{BASE}/{{contact_id:int}}", opt=perm(CRM_ACCOUNT_READ, resource=RESOURCE))
async def contact_detail(
    request: Request[Any, Any, Any], db: DbSession, contact_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    contact = await contacts.get_contact(db, p, contact_id)
    account = await accounts.get_account(db, p, contact.account_id)
    return render(
        request,
        "crm/contact.html",
        contact=contact,
        account=account,
        interactions=await recent_interactions(db, contact),
        kind_labels=activities.KIND_LABELS,
        kind_icons=activities.KIND_ICONS,
        can_write=can_write(account, p, CRM_ACCOUNT_WRITE),
        can_merge=p.can(CRM_ACCOUNT_MERGE),
        can_invite=p.can(ADMIN_USERS_MANAGE),
        portal_status=await portal_access.portal_status(db, contact),
        tz=viewer_tz(request),
    )


def _posted(form: dict[str, Any]) -> dict[str, Any]:
    """The fields the form sent (the edit form sends all; its unticked checkbox means "no")."""
    data = {k: v for k, v in contact_input(form).items() if k in form}
    if "full_name" in form:
        data["is_primary"] = form.get("is_primary") or ""
    return data


@get(f"{BASE}/{{contact_id:int}}/edit", opt=perm(CRM_ACCOUNT_WRITE, resource=RESOURCE))
async def contact_edit(
    request: Request[Any, Any, Any], db: DbSession, contact_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    contact = await contacts.get_contact(db, p, contact_id)
    await accounts.get_writable_account(db, p, contact.account_id)
    return await _form(request, db, FormState(contact_values(contact)), contact=contact)


@post(f"{BASE}/{{contact_id:int}}", opt=perm(CRM_ACCOUNT_WRITE, resource=RESOURCE))
async def contact_update(
    request: Request[Any, Any, Any], db: DbSession, contact_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    contact = await contacts.get_contact(db, p, contact_id)  # another tenant's id: 404 before the input
    form = await form_data(request)
    try:
        await contacts.update_contact(db, p, contact.id, _posted(form))
    except DomainError as exc:
        await db.rollback()
        contact = await contacts.get_contact(db, p, contact_id)
        return await _form(request, db, FormState(form, exc), contact=contact, status=422)
    flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=contact.full_name))
    return redirect(f"{BASE}/{contact.id}", request)


ROUTES = [
    contact_list,
    contact_export,
    contact_new,
    contact_create,
    contact_detail,
    contact_edit,
    contact_update,
]
