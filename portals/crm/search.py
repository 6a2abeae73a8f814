"""Search across accounts, contacts and leads; duplicate hints while typing."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from app.crm.services import customer_lists, duplicates, search
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_ACCOUNT_READ
from portals.crm.forms import NAV_SECTION, STAGE_LABELS
from portals.forms import optional_id
from portals.nav import NavItem, register
from portals.web import perm, principal, render

register(NavItem(NAV_SECTION, lazy("Search"), "/crm/search", CRM_ACCOUNT_READ, icon="search", order=30))


@get("/crm/search", opt=perm(CRM_ACCOUNT_READ))
async def search_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    results = await search.search_everything(db, p, request.query_params.get("q") or "")
    owners = await customer_lists.user_names(db, (a.owner_id for a in results.accounts.rows))
    return render(request, "crm/search.html", results=results, owners=owners, stage_labels=STAGE_LABELS)


@get("/crm/accounts/duplicates", opt=perm(CRM_ACCOUNT_READ))
async def account_hints(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """Likely duplicates of the account being typed (the new/edit form polls this)."""
    q = request.query_params
    hits = await duplicates.similar_accounts(
        db,
        principal(request),
        name=q.get("name"),
        email=q.get("email"),
        phone=q.get("phone"),
        exclude_id=optional_id(q.get("exclude")),
    )
    return render(request, "crm/_duplicate_hints.html", hits=hits, kind="account")


@get("/crm/contacts/duplicates", opt=perm(CRM_ACCOUNT_READ))
async def contact_hints(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    q = request.query_params
    full_name = q.get("full_name") or " ".join(x for x in (q.get("first_name"), q.get("last_name")) if x)
    hits = await duplicates.similar_contacts(
        db,
        principal(request),
        full_name=full_name,
        email=q.get("email"),
        phone=q.get("phone") or q.get("mobile"),
        account_id=optional_id(q.get("account_id")),
        exclude_id=optional_id(q.get("exclude")),
    )
    return render(request, "crm/_duplicate_hints.html", hits=hits, kind="contact")


@get("/crm/accounts/lookup", opt=perm(CRM_ACCOUNT_READ))
async def account_lookup(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """Accounts matching what was typed in an account picker (the contact form), best first."""
    q = search.normalise_query(request.query_params.get("account_q"))
    rows = []
    if q:
        stmt = customer_lists.search_accounts(customer_lists.accounts_list(principal(request)), q)
        rows = list((await db.execute(stmt.order_by(*search.account_rank(q)).limit(8))).scalars())
    return render(request, "crm/_account_lookup.html", rows=rows, q=q)


ROUTES = [search_page, account_hints, contact_hints, account_lookup]
