"""Duplicates and merging: the list of likely duplicate accounts, and the merge pages that show
both records side by side, what will move, and merge on confirmation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact
from app.crm.services import accounts, contacts, customer_lists, duplicates, merge, search
from app.kernel import i18n
from app.kernel.errors import DomainError, NotFound
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_ACCOUNT_MERGE
from portals.crm.forms import KIND_LABELS, NAV_SECTION, STAGE_LABELS
from portals.forms import optional_id
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

register(
    NavItem(NAV_SECTION, lazy("Duplicates"), "/crm/duplicates", CRM_ACCOUNT_MERGE, icon="filter", order=40)
)

# The fields the comparison shows, in order.
ACCOUNT_ROWS = [
    ("name", lazy("Name")),
    ("kind", lazy("Type")),
    ("legal_name", lazy("Legal name")),
    ("lifecycle_stage", lazy("Stage")),
    ("email", lazy("E-mail")),
    ("phone", lazy("Phone")),
    ("website", lazy("Website")),
    ("industry", lazy("Industry")),
    ("region", lazy("Region")),
    ("country", lazy("Country")),
    ("city", lazy("City")),
    ("address", lazy("Address")),
    ("source", lazy("Source")),
    ("tags", lazy("Tags")),
    ("needs", lazy("Needs")),
    ("preferences", lazy("Preferences")),
    ("owner_id", lazy("Account manager")),
]
CONTACT_ROWS = [
    ("full_name", lazy("Full name")),
    ("title", lazy("Job title")),
    ("email", lazy("E-mail")),
    ("phone", lazy("Phone")),
    ("mobile", lazy("Mobile")),
    ("notes", lazy("Notes")),
    ("is_primary", lazy("Primary contact")),
    ("portal_user_id", lazy("Customer portal sign-in")),
]


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if value is True:
        return i18n.gettext("yes")
    if value is False:
        return i18n.gettext("no")
    return "" if value is None else str(value)


def _comparison(
    winner: Any, loser: Any, rows: list[tuple[str, str]], labels: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each field: the survivor's value, the duplicate's, and whether the merge fills it in."""
    out = []
    for key, label in rows:
        mine, theirs = getattr(winner, key), getattr(loser, key)
        if key in labels:
            mine, theirs = labels[key].get(mine, mine), labels[key].get(theirs, theirs)
        filled = merge.is_empty(getattr(winner, key)) and not merge.is_empty(getattr(loser, key))
        if key in ("tags", "preferences") and not merge.is_empty(getattr(loser, key)):
            filled = getattr(loser, key) != getattr(winner, key)
        out.append(
            {
                "label": label,
                "winner": _show(mine),
                "loser": _show(theirs),
                "filled": filled,
                "key": key,
                "same": _show(mine) == _show(theirs),
            }
        )
    return out


@get("/crm/duplicates", opt=perm(CRM_ACCOUNT_MERGE))
async def duplicate_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    try:
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        page = 1
    pairs, more = await duplicates.duplicate_account_pairs(db, principal(request), page=page)
    owners = await customer_lists.user_names(db, [a.owner_id for p in pairs for a in (p.first, p.second)])
    return render(
        request,
        "crm/duplicates.html",
        pairs=pairs,
        more=more,
        page_no=page,
        owners=owners,
        stage_labels=STAGE_LABELS,
    )


async def _account_merge_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    winner: Account,
    other_id: int | None,
    *,
    form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    loser = None
    if other_id is not None and other_id != winner.id:
        try:
            loser = await accounts.get_account(db, p, other_id)
        except NotFound:
            loser = None
    ctx: dict[str, Any] = {"account": winner, "other": loser, "form": form or FormState()}
    if loser is not None:
        owners = await customer_lists.user_names(db, [winner.owner_id, loser.owner_id])
        labels = {
            "kind": KIND_LABELS,
            "lifecycle_stage": STAGE_LABELS,
            "owner_id": {k: v for k, v in owners.items()},
        }
        ctx["rows"] = _comparison(winner, loser, ACCOUNT_ROWS, labels)
        ctx["moves"] = await merge.pending_moves(db, Account.__table__, loser.id)  # type: ignore[arg-type]
        ctx["move_labels"] = merge.REFERENCE_LABELS
    else:
        q = search.normalise_query(request.query_params.get("q"))
        ctx["q"] = q
        ctx["suggestions"] = await duplicates.similar_accounts(
            db, p, name=winner.name, email=winner.email, phone=winner.phone, exclude_id=winner.id, limit=8
        )
        ctx["found"] = []
        if q:
            stmt = customer_lists.search_accounts(customer_lists.accounts_list(p), q).where(
                Account.id != winner.id
            )
            ctx["found"] = list(
                (await db.execute(stmt.order_by(*search.account_rank(q)).limit(10))).scalars()
            )
    return render(request, "crm/merge.html", status=status, **ctx)


@get("/crm/accounts/{account_id:int}/merge", opt=perm(CRM_ACCOUNT_MERGE, resource="crm_accounts"))
async def account_merge_form(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    winner = await accounts.get_account(db, principal(request), account_id)
    return await _account_merge_page(request, db, winner, optional_id(request.query_params.get("other")))


@post("/crm/accounts/{account_id:int}/merge", opt=perm(CRM_ACCOUNT_MERGE, resource="crm_accounts"))
async def account_merge(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    winner = await accounts.get_account(db, p, account_id)
    form = await form_data(request)
    try:
        result = await merge.merge_accounts(db, p, winner.id, form.get("merge_id"))
    except DomainError as exc:
        await db.rollback()
        winner = await accounts.get_account(db, p, account_id)
        return await _account_merge_page(
            request, db, winner, optional_id(form.get("merge_id")), form=FormState(form, exc), status=422
        )
    moved = sum(result.counts.values())
    flash(
        request,
        "success",
        i18n.gettext(
            "{loser} is merged into {winner}; {n} related records moved.",
            loser=result.loser.name,
            winner=result.winner.name,
            n=moved,
        ),
    )
    return redirect(f"/crm/accounts/{result.winner.id}", request)


async def _contact_merge_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    winner: Contact,
    other_id: int | None,
    *,
    form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    siblings = [c for c in await contacts.contacts_of(db, p, winner.account_id) if c.id != winner.id]
    loser = next((c for c in siblings if c.id == other_id), None)
    ctx: dict[str, Any] = {
        "contact": winner,
        "other": loser,
        "siblings": siblings,
        "form": form or FormState(),
    }
    if loser is not None:
        ctx["rows"] = _comparison(winner, loser, CONTACT_ROWS, {})
        ctx["moves"] = await merge.pending_moves(db, Contact.__table__, loser.id)  # type: ignore[arg-type]
        ctx["move_labels"] = merge.REFERENCE_LABELS
    ctx["account"] = await accounts.get_account(db, p, winner.account_id)
    return render(request, "crm/contact_merge.html", status=status, **ctx)


@get("/crm/contacts/{contact_id:int}/merge", opt=perm(CRM_ACCOUNT_MERGE, resource="crm_contacts"))
async def contact_merge_form(
    request: Request[Any, Any, Any], db: DbSession, contact_id: FromPath[int]
) -> Response[Any]:
    winner = await contacts.get_contact(db, principal(request), contact_id)
    return await _contact_merge_page(request, db, winner, optional_id(request.query_params.get("other")))


@post("/crm/contacts/{contact_id:int}/merge", opt=perm(CRM_ACCOUNT_MERGE, resource="crm_contacts"))
async def contact_merge(
    request: Request[Any, Any, Any], db: DbSession, contact_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    winner = await contacts.get_contact(db, p, contact_id)
    form = await form_data(request)
    try:
        result = await merge.merge_contacts(db, p, winner.id, form.get("merge_id"))
    except DomainError as exc:
        await db.rollback()
        winner = await contacts.get_contact(db, p, contact_id)
        return await _contact_merge_page(
            request, db, winner, optional_id(form.get("merge_id")), form=FormState(form, exc), status=422
        )
    flash(
        request,
        "success",
        i18n.gettext(
            "{loser} is merged into {winner}.", loser=result.loser.full_name, winner=result.winner.full_name
        ),
    )
    return redirect(f"/crm/contacts/{result.winner.id}", request)


ROUTES = [duplicate_list, account_merge_form, account_merge, contact_merge_form, contact_merge]
