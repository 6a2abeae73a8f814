"""Finance › Chart of accounts: the chart, and for holders of ``fin.settings.manage`` adding,
renaming, deactivating, reactivating and deleting accounts (app/finance/services/accounts.py says
what is allowed; a refusal is shown with nothing changed)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import ACCOUNT_TYPES, Account, EntryLine
from app.finance.services import accounts
from app.finance.services.setup import ensure_finance
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from portals.finance.settings_common import settings_ctx
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/finance/accounts"
TYPE_LABELS = {
    "asset": lazy("Asset"),
    "liability": lazy("Liability"),
    "equity": lazy("Equity"),
    "income": lazy("Income"),
    "expense": lazy("Expense"),
}


async def _list(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState | None = None, status: int = 200
) -> Response[Any]:
    template = await ensure_finance(db)
    rows = list((await db.execute(select(Account).order_by(Account.code))).scalars())
    groups = [a for a in rows if not a.postable and a.active]
    return render(
        request,
        "finance/accounts.html",
        status=status,
        form=form or FormState({"postable": "1"}),
        accounts=rows,
        chart=template,
        type_labels=TYPE_LABELS,
        type_options=[(t, i18n.gettext(TYPE_LABELS[t])) for t in ACCOUNT_TYPES],
        group_options=[(str(a.id), f"{a.code} {a.name}") for a in groups],
        **settings_ctx(request),
    )


@get(BASE, opt=perm(FIN_LEDGER_READ))
async def account_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _list(request, db)


@post(BASE, opt=perm(FIN_SETTINGS_MANAGE))
async def account_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    values = {k: form.get(k) for k in ("code", "name", "type", "parent_id")} | {
        "postable": bool(form.get("postable"))
    }
    try:
        account = await accounts.create_account(db, principal(request), values)
    except DomainError as exc:
        await db.rollback()
        return await _list(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The account {code} is added.", code=account.code))
    return redirect(f"{BASE}/{account.id}", request)


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    account_id: int,
    form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    account = await accounts.get_account(db, account_id)
    parent = await db.get(Account, account.parent_id) if account.parent_id else None
    children = list(
        (
            await db.execute(select(Account).where(Account.parent_id == account.id).order_by(Account.code))
        ).scalars()
    )
    lines = (await db.execute(select(func.count()).where(EntryLine.account_id == account.id))).scalar_one()
    return render(
        request,
        "finance/account_detail.html",
        status=status,
        form=form or FormState({"name": account.name}),
        account=account,
        parent=parent,
        children=children,
        lines=lines,
        type_labels=TYPE_LABELS,
        **settings_ctx(request),
    )


@get(f"{BASE}/{{account_id:int}}", opt=perm(FIN_LEDGER_READ, resource="fin_accounts"))
async def account_detail(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, account_id)


@post(f"{BASE}/{{account_id:int}}", opt=perm(FIN_SETTINGS_MANAGE, resource="fin_accounts"))
async def account_rename(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    await accounts.get_account(db, account_id)  # a missing account is a 404 whatever the form says
    form = await form_data(request)
    try:
        account = await accounts.update_account(
            db, principal(request), account_id, {"name": form.get("name")}
        )
    except DomainError as exc:
        await db.rollback()
        return await _detail(request, db, account_id, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The account {code} is renamed.", code=account.code))
    return redirect(f"{BASE}/{account.id}", request)


async def _set_active(
    request: Request[Any, Any, Any], db: AsyncSession, account_id: int, active: bool
) -> Response[Any]:
    await accounts.get_account(db, account_id)
    try:
        account = await accounts.update_account(db, principal(request), account_id, {"active": active})
    except DomainError as exc:
        await db.rollback()
        flash(request, "error", i18n.gettext(exc.message, **exc.params) if not exc.errors else _first(exc))
        return redirect(f"{BASE}/{account_id}", request)
    if active:
        flash(request, "success", i18n.gettext("The account {code} is active again.", code=account.code))
    else:
        flash(request, "success", i18n.gettext("The account {code} is deactivated.", code=account.code))
    return redirect(f"{BASE}/{account.id}", request)


def _first(exc: DomainError) -> str:
    e = exc.errors[0]
    return i18n.gettext(e.message, **e.params)


@post(f"{BASE}/{{account_id:int}}/deactivate", opt=perm(FIN_SETTINGS_MANAGE, resource="fin_accounts"))
async def account_deactivate(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, account_id, False)


@post(f"{BASE}/{{account_id:int}}/activate", opt=perm(FIN_SETTINGS_MANAGE, resource="fin_accounts"))
async def account_activate(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, account_id, True)


@post(f"{BASE}/{{account_id:int}}/delete", opt=perm(FIN_SETTINGS_MANAGE, resource="fin_accounts"))
async def account_delete(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    account = await accounts.get_account(db, account_id)
    code = account.code
    try:
        await accounts.delete_account(db, principal(request), account_id)
    except DomainError as exc:
        await db.rollback()
        flash(request, "error", i18n.gettext(exc.message, **exc.params))
        return redirect(f"{BASE}/{account_id}", request)
    flash(request, "success", i18n.gettext("The account {code} is deleted.", code=code))
    return redirect(BASE, request)


ROUTES: list[HTTPRouteHandler] = [
    account_list,
    account_create,
    account_detail,
    account_rename,
    account_deactivate,
    account_activate,
    account_delete,
]
