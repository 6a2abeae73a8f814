"""Accounts: list, profile with timeline, create/edit, tags, needs and preferences, merge.

The profile and its inline cards live in profile.py, merging in merge.py; this module has the
list (filters, search, CSV export) and the create/edit forms, and collects every account route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account
from app.crm.services import accounts, customer_lists
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE
from portals.crm import merge, profile
from portals.crm.forms import KIND_LABELS, NAV_SECTION, STAGE_LABELS, account_input, account_values
from portals.exports import ExportColumn, csv_export
from portals.forms import viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/crm/accounts"

register(NavItem(NAV_SECTION, lazy("Accounts"), BASE, CRM_ACCOUNT_READ, icon="building", order=10))


def accounts_table(
    regions: Sequence[str] = (),
    tags: Sequence[str] = (),
    owners: Sequence[tuple[int, str]] = (),
    *,
    free_filters: bool = False,
) -> TableSpec:
    """The list's columns and filters. Filter choices come from the data on full pages; fragment
    swaps and exports accept any value (``free_filters``) so they need not recompute them."""

    def choices(items: Any) -> list[tuple[str, str]]:
        return [] if free_filters else list(items)

    return TableSpec(
        columns=[
            Column("name", lazy("Name"), sort=Account.name),
            Column("stage", lazy("Stage"), sort=Account.lifecycle_stage),
            Column("region", lazy("Region"), sort=Account.region),
            Column("city", lazy("City"), sort=Account.city),
            Column("contact", lazy("Primary contact")),
            Column("tags", lazy("Tags")),
            Column("owner", lazy("Account manager")),
            Column("updated", lazy("Updated"), sort=Account.updated_at),
        ],
        default_sort="name",
        filters=[
            Filter("stage", lazy("Stage"), customer_lists.with_stage, list(STAGE_LABELS.items())),
            Filter("kind", lazy("Type"), customer_lists.with_kind, list(KIND_LABELS.items())),
            Filter("region", lazy("Region"), customer_lists.with_region, choices((r, r) for r in regions)),
            Filter("tag", lazy("Tag"), customer_lists.with_tag, choices((t, t) for t in tags)),
            Filter(
                "owner",
                lazy("Account manager"),
                customer_lists.with_owner,
                choices([(customer_lists.NO_OWNER, lazy("Nobody")), *((str(i), n) for i, n in owners)]),
            ),
        ],
        search=customer_lists.search_accounts,
        tiebreak=Account.id,
    )


EXPORT_COLUMNS = [
    ExportColumn("ID", lambda a: a.id),
    ExportColumn(lazy("Name"), lambda a: a.name),
    ExportColumn(lazy("Type"), lambda a: i18n.gettext(KIND_LABELS.get(a.kind, a.kind))),
    ExportColumn(lazy("Legal name"), lambda a: a.legal_name),
    ExportColumn(
        lazy("Stage"), lambda a: i18n.gettext(STAGE_LABELS.get(a.lifecycle_stage, a.lifecycle_stage))
    ),
    ExportColumn(lazy("E-mail"), lambda a: a.email),
    ExportColumn(lazy("Phone"), lambda a: a.phone),
    ExportColumn(lazy("Website"), lambda a: a.website),
    ExportColumn(lazy("Industry"), lambda a: a.industry),
    ExportColumn(lazy("Region"), lambda a: a.region),
    ExportColumn(lazy("Country"), lambda a: a.country),
    ExportColumn(lazy("City"), lambda a: a.city),
    ExportColumn(lazy("Address"), lambda a: a.address),
    ExportColumn(lazy("Source"), lambda a: a.source),
    ExportColumn(lazy("Tags"), lambda a: ", ".join(a.tags or [])),
    ExportColumn(lazy("Account manager ID"), lambda a: a.owner_id),
    ExportColumn(lazy("Created"), lambda a: a.created_at.isoformat()),
    ExportColumn(lazy("Updated"), lambda a: a.updated_at.isoformat()),
]


async def _filter_choices(db: AsyncSession, request: Request[Any, Any, Any]) -> TableSpec:
    p = principal(request)
    return accounts_table(
        await customer_lists.region_choices(db, p),
        await customer_lists.tag_choices(db, p),
        await customer_lists.staff_choices(db),
    )


@get(BASE, opt=perm(CRM_ACCOUNT_READ))
async def account_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fragment = wants_fragment(request)
    spec = accounts_table(free_filters=True) if fragment else await _filter_choices(db, request)
    page = await fetch_page(
        db, customer_lists.accounts_list(principal(request)), spec, parse_query(request.query_params, spec)
    )
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "owners": await customer_lists.user_names(db, (a.owner_id for a in page.rows)),
        "primary": await customer_lists.primary_contacts(db, (a.id for a in page.rows)),
        "stage_labels": STAGE_LABELS,
        "kind_labels": KIND_LABELS,
        "tz": viewer_tz(request),
    }
    return render(request, "crm/_accounts_table.html" if fragment else "crm/accounts.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_ACCOUNT_READ))
async def account_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    stmt = customer_lists.accounts_list(principal(request))
    return await csv_export(request, db, stmt, accounts_table(free_filters=True), EXPORT_COLUMNS, "accounts")


async def _form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState,
    *,
    account: Account | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    return render(
        request,
        "crm/account_form.html",
        status=status,
        form=form,
        account=account,
        owners=await customer_lists.assignable_staff(db, p, CRM_ACCOUNT_WRITE),
        regions=await customer_lists.region_choices(db, p),
        stage_labels=STAGE_LABELS,
        kind_labels=KIND_LABELS,
    )


@get(f"{BASE}/new", opt=perm(CRM_ACCOUNT_WRITE))
async def account_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    defaults = {"kind": request.query_params.get("kind") or "company", "lifecycle_stage": "prospect"}
    defaults["owner_id"] = p.id if p.kind == "user" else ""
    return await _form(request, db, FormState(defaults))


@post(BASE, opt=perm(CRM_ACCOUNT_WRITE))
async def account_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        account = await accounts.create_account(db, principal(request), account_input(form))
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("{name} is created.", name=account.name))
    return redirect(f"{BASE}/{account.id}", request)


@get(f"{BASE}/{{account_id:int}}/edit", opt=perm(CRM_ACCOUNT_WRITE, resource="crm_accounts"))
async def account_edit(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    account = await accounts.get_writable_account(db, principal(request), account_id)
    return await _form(request, db, FormState(account_values(account)), account=account)


@post(f"{BASE}/{{account_id:int}}", opt=perm(CRM_ACCOUNT_WRITE, resource="crm_accounts"))
async def account_update(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    account = await accounts.get_writable_account(db, principal(request), account_id)  # 404/403 first
    form = await form_data(request)
    try:
        await accounts.update_account(db, principal(request), account.id, account_input(form, partial=True))
    except DomainError as exc:
        await db.rollback()
        account = await accounts.get_account(db, principal(request), account_id)
        return await _form(request, db, FormState(form, exc), account=account, status=422)
    flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=account.name))
    return redirect(f"{BASE}/{account.id}", request)


ROUTES = [
    account_list,
    account_export,
    account_new,
    account_create,
    account_edit,
    account_update,
    *profile.ROUTES,
    *merge.ROUTES,
]
