"""One account's profile: the figures at a glance, the merged timeline, contacts, needs,
preferences, tags and the account manager — each side card editable in place (htmx)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Opportunity
from app.crm.services import accounts, activities, collections, contacts, customer_lists, timeline
from app.crm.services.account_summary import account_summary
from app.crm.services.calendar import tenant_today
from app.crm.services.opportunities import base_currency
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, NotFound
from app.kernel.web import DbSession
from app.security.permissions import (
    ADMIN_USERS_MANAGE,
    CRM_ACCOUNT_MERGE,
    CRM_ACCOUNT_READ,
    CRM_ACCOUNT_WRITE,
    CRM_OPPORTUNITY_READ,
    CRM_OPPORTUNITY_WRITE,
    FIN_RECEIVABLE_READ,
)
from app.security.principal import Principal
from app.security.record_rules import can_write, restrict
from portals.crm.forms import KIND_LABELS, STAGE_LABELS, STAGE_TONES, card, preference_pairs
from portals.forms import viewer_tz, wants_fragment
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/crm/accounts"
RESOURCE = "crm_accounts"
CARDS = {
    "tags": "crm/_tags_card.html",
    "needs": "crm/_needs_card.html",
    "preferences": "crm/_preferences_card.html",
    "owner": "crm/_owner_card.html",
}


async def open_opportunities(db: AsyncSession, p: Principal, account_id: int) -> list[tuple[int, str]]:
    """The account's deals the user sees, newest first (the activity form's "about" choice)."""
    stmt: Any = restrict(select(Opportunity.id), Opportunity, p, CRM_OPPORTUNITY_READ)
    stmt = stmt.add_columns(Opportunity.name).where(Opportunity.account_id == account_id)
    stmt = stmt.order_by(Opportunity.created_at.desc())
    return [(int(i), str(n)) for i, n in (await db.execute(stmt.limit(50))).all()]


async def timeline_context(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    account: Account,
    *,
    activity_form: FormState | None = None,
) -> dict[str, Any]:
    """What the timeline block (activity form + entries) needs."""
    p = principal(request)
    only = [s for s in request.query_params.getall("only", []) if s]
    page = await timeline.account_timeline(db, p, account.id, only=only)
    return {
        "account": account,
        "timeline": page,
        "activity_form": activity_form or FormState({"kind": "call", "direction": "out"}),
        "account_contacts": await contacts.contacts_of(db, p, account.id),
        "account_opportunities": await open_opportunities(db, p, account.id),
        "activity_kinds": activities.KIND_LABELS,
        "can_write": can_write(account, p, CRM_ACCOUNT_WRITE),
        "tz": viewer_tz(request),
    }


async def card_context(request: Request[Any, Any, Any], db: AsyncSession, account: Account) -> dict[str, Any]:
    p = principal(request)
    return {
        "account": account,
        "can_write": can_write(account, p, CRM_ACCOUNT_WRITE),
        "owner_name": (await customer_lists.user_names(db, [account.owner_id])).get(account.owner_id or 0),
        "owners": await customer_lists.assignable_staff(db, p, CRM_ACCOUNT_WRITE),
        "tz": viewer_tz(request),
    }


async def profile_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    account: Account,
    *,
    status: int = 200,
    forms: dict[str, FormState] | None = None,
    activity_form: FormState | None = None,
) -> Response[Any]:
    p = principal(request)
    currency = base_currency()
    ctx = {
        **await card_context(request, db, account),
        **await timeline_context(request, db, account, activity_form=activity_form),
        "forms": forms or {},
        "summary": await account_summary(db, p, account.id, currency=currency),
        "currency": currency,
        "open_tasks": await activities.open_tasks(db, p, account.id),
        "stage_labels": STAGE_LABELS,
        "stage_tones": STAGE_TONES,
        "kind_labels": KIND_LABELS,
        "can_merge": p.can(CRM_ACCOUNT_MERGE),
        "can_add_deal": p.can(CRM_OPPORTUNITY_WRITE),
        "can_invite": p.can(ADMIN_USERS_MANAGE),
        "now_utc": utcnow(),
        "receivables": await collections.account_receivables(db, p, account.id),
        "can_read_receivables": p.can(FIN_RECEIVABLE_READ),
        "today": tenant_today(),
    }
    return render(request, "crm/account.html", status=status, **ctx)


@get(f"{BASE}/{{account_id:int}}", opt=perm(CRM_ACCOUNT_READ, resource=RESOURCE))
async def account_profile(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    try:
        account = await accounts.get_account(db, p, account_id)
    except NotFound:
        survivor = await _survivor_of(db, p, account_id)
        if survivor is None:
            raise
        flash(request, "info", i18n.gettext("That account was merged into {name}.", name=survivor.name))
        return redirect(f"{BASE}/{survivor.id}", request)
    return await profile_page(request, db, account)


async def _survivor_of(db: AsyncSession, p: Principal, account_id: int) -> Account | None:
    """The account a merged-away one became, if the principal may see both."""
    merged = await db.scalar(
        restrict(select(Account.merged_into_id).where(Account.id == account_id), Account, p, CRM_ACCOUNT_READ)
    )
    if merged is None:
        return None
    try:
        return await accounts.get_account(db, p, int(merged))
    except NotFound:
        return None


@get(f"{BASE}/{{account_id:int}}/timeline", opt=perm(CRM_ACCOUNT_READ, resource=RESOURCE))
async def account_timeline(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    """The timeline alone: a filter chip (``only``) or the next page (``before``, appended)."""
    p = principal(request)
    account = await accounts.get_account(db, p, account_id)
    only = [s for s in request.query_params.getall("only", []) if s]
    before = request.query_params.get("before")
    page = await timeline.account_timeline(db, p, account.id, before=before, only=only)
    template = "crm/_timeline_items.html" if before else "crm/_timeline.html"
    return render(
        request,
        template,
        account=account,
        timeline=page,
        can_write=can_write(account, p, CRM_ACCOUNT_WRITE),
        tz=viewer_tz(request),
    )


async def _save_card(
    request: Request[Any, Any, Any], db: AsyncSession, account_id: int, which: str
) -> Response[Any]:
    p = principal(request)
    account = await accounts.get_writable_account(db, p, account_id)
    form = await form_data(request)
    try:
        await accounts.update_account(db, p, account.id, _card_input(which, form))
    except DomainError as exc:
        await db.rollback()
        account = await accounts.get_account(db, p, account_id)
        state = FormState(form, exc)

        async def whole_page() -> Response[Any]:
            return await profile_page(request, db, account, status=422, forms={which: state})

        ctx = await card_context(request, db, account)
        return await card(
            request, CARDS[which], f"card-{which}", full_page=whole_page, status=422, form=state, **ctx
        )
    if not wants_fragment(request):
        flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=account.name))
        return redirect(f"{BASE}/{account.id}", request)
    await db.refresh(account)
    return render(
        request, CARDS[which], form=FormState(), saved=True, **await card_context(request, db, account)
    )


def _card_input(which: str, form: dict[str, Any]) -> dict[str, Any]:
    if which == "tags":
        return {"tags": form.get("tags", "")}
    if which == "needs":
        return {"needs": form.get("needs", "")}
    if which == "preferences":
        return {"preferences": preference_pairs(form)}
    return {"owner_id": form.get("owner_id", "")}


def _card_route(which: str) -> Any:
    async def save(
        request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
    ) -> Response[Any]:
        return await _save_card(request, db, account_id, which)

    save.__name__ = f"account_save_{which}"
    return post(f"{BASE}/{{account_id:int}}/{which}", opt=perm(CRM_ACCOUNT_WRITE, resource=RESOURCE))(save)


ROUTES = [account_profile, account_timeline, *(_card_route(which) for which in CARDS)]
