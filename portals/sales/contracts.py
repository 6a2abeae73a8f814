"""Sales › Contracts and Collections (CRM-5): contracts with their terms and payment schedule
(generated in equal instalments or edited by hand — it must add up), collections recorded
against instalments, and the collections page: what is overdue and what falls due in the next
30 days, per rep. Every read starts from the record rules on contracts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contract, PaymentInstalment, SalesOrder
from app.crm.services import collections, contracts, reps
from app.crm.services.calendar import tenant_today
from app.crm.services.opportunities import base_currency
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import User
from app.security.permissions import CRM_CONTRACT_READ, CRM_CONTRACT_WRITE, CRM_ORDER_READ
from app.security.principal import Principal
from app.security.record_rules import can_write, restrict
from portals.exports import ExportColumn, csv_download
from portals.forms import as_list, optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.sales import documents
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/sales/contracts"
BOARD = "/sales/collections"

register(
    NavItem(lazy("Sales"), lazy("Contracts"), BASE, CRM_CONTRACT_READ, icon="contract", order=60),
    NavItem(lazy("Sales"), lazy("Collections"), BOARD, CRM_CONTRACT_READ, icon="coins", order=62),
)

_COLLECTED = (
    select(func.coalesce(func.sum(PaymentInstalment.collected), 0))
    .where(PaymentInstalment.contract_id == Contract.id)
    .correlate(Contract)
    .scalar_subquery()
)
_NEXT_DUE = (
    select(func.min(PaymentInstalment.due_date))
    .where(
        PaymentInstalment.contract_id == Contract.id, PaymentInstalment.collected < PaymentInstalment.amount
    )
    .correlate(Contract)
    .scalar_subquery()
)


def listed(p: Principal) -> Select[Any]:
    stmt: Any = (
        select(
            Contract,
            Account.name.label("account_name"),
            User.full_name.label("owner_name"),
            _COLLECTED.label("collected"),
            _NEXT_DUE.label("next_due"),
        )
        .join(Account, Account.id == Contract.account_id)
        .outerjoin(User, User.id == Contract.owner_id)
    )
    return restrict(stmt, Contract, p, CRM_CONTRACT_READ)


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(
        or_(
            func.lower(Contract.number).like(like),
            func.lower(Contract.title).like(like),
            func.lower(Account.name).like(like),
        )
    )


def _owner(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(Contract.owner_id == int(value)) if value.isdigit() else stmt.where(Contract.id < 0)


def table(owners: list[tuple[int, str]] | None = None) -> TableSpec:
    return TableSpec(
        columns=[
            Column("number", lazy("Contract"), sort=Contract.number),
            Column("title", lazy("Title"), sort=Contract.title),
            Column("account", lazy("Account"), sort=Account.name),
            Column("status", lazy("Status"), sort=Contract.status),
            Column("value", lazy("Contract value"), sort=Contract.value, align="right"),
            Column("collected", lazy("Collected"), align="right"),
            Column("next_due", lazy("Next due"), sort=_NEXT_DUE),
            Column("owner", lazy("Owner"), sort=User.full_name),
        ],
        default_sort="number",
        default_direction="desc",
        filters=[
            Filter(
                "status",
                lazy("Status"),
                lambda s, v: s.where(Contract.status == v),
                list(contracts.STATUS_LABELS.items()),
            ),
            Filter(
                "owner", lazy("Owner"), _owner, [(str(i), n) for i, n in owners] if owners is not None else []
            ),
        ],
        search=_search,
        tiebreak=Contract.id.desc(),
    )


EXPORT = [
    ExportColumn(lazy("Contract"), lambda r: r[0].number),
    ExportColumn(lazy("Title"), lambda r: r[0].title),
    ExportColumn(lazy("Account"), lambda r: r.account_name),
    ExportColumn(lazy("Status"), lambda r: i18n.gettext(contracts.STATUS_LABELS[r[0].status])),
    ExportColumn(lazy("Currency"), lambda r: r[0].currency),
    ExportColumn(lazy("Contract value"), lambda r: str(r[0].value)),
    ExportColumn(lazy("Collected"), lambda r: str(Decimal(r.collected).quantize(Decimal("0.01")))),
    ExportColumn(lazy("Next due"), lambda r: r.next_due.isoformat() if r.next_due else ""),
    ExportColumn(lazy("Owner"), lambda r: r.owner_name or ""),
]


@get(BASE, opt=perm(CRM_CONTRACT_READ))
async def contract_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    fragment = wants_fragment(request)
    spec = table(None if fragment else await documents.owner_options(db, p, CRM_CONTRACT_READ))
    page = await fetch_page(db, listed(p), spec, parse_query(request.query_params, spec), scalars=False)
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "labels": contracts.STATUS_LABELS,
        "today": tenant_today(),
    }
    ctx.update(documents.formatters())
    if fragment:
        return render(request, "sales/_contracts_table.html", **ctx)
    return render(request, "sales/contracts.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_CONTRACT_READ))
async def contract_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    return await documents.csv_of_rows(request, db, listed(principal(request)), table(), EXPORT, "contracts")


# --- create ----------------------------------------------------------------------------------


async def _new_form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    p = principal(request)
    account_id = optional_id(form.value("account_id"))
    return render(
        request,
        "sales/contract_form.html",
        status=status,
        form=form,
        accounts=await documents.account_options(db, p, selected=account_id),
        owner_choices=await documents.owner_options(
            db, p, CRM_CONTRACT_WRITE, optional_id(form.value("owner_id"))
        ),
        currency=base_currency(),
    )


@get(f"{BASE}/new", opt=perm(CRM_CONTRACT_WRITE))
async def contract_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    values: dict[str, Any] = {
        "owner_id": p.id if p.kind == "user" else "",
        "currency": base_currency(),
        "account_id": request.query_params.get("account_id", ""),
    }
    order_id = optional_id(request.query_params.get("sales_order_id"))
    if order_id is not None:
        order = (
            await db.execute(
                restrict(select(SalesOrder), SalesOrder, p, CRM_ORDER_READ).where(SalesOrder.id == order_id)
            )
        ).scalar_one_or_none()
        if order is not None:
            values.update(
                sales_order_id=order.id,
                account_id=order.account_id,
                value=str(order.total),
                currency=order.currency,
                owner_id=order.owner_id or values["owner_id"],
            )
    return await _new_form(request, db, FormState(values))


@post(BASE, opt=perm(CRM_CONTRACT_WRITE))
async def contract_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        contract = await contracts.create_contract(db, principal(request), form)
    except DomainError as exc:
        await db.rollback()
        return await _new_form(request, db, FormState(form, exc), status=422)
    flash(
        request,
        "success",
        i18n.gettext("Contract {number} is created. Add its payment schedule.", number=contract.number),
    )
    return redirect(f"{BASE}/{contract.id}", request)


# --- the contract's page ---------------------------------------------------------------------


def _terms_state(c: Contract) -> FormState:
    def day(v: Any) -> str:
        return v.isoformat() if v else ""

    return FormState(
        {
            "title": c.title,
            "value": documents.plain(c.value),
            "currency": c.currency,
            "start_date": day(c.start_date),
            "end_date": day(c.end_date),
            "signed_on": day(c.signed_on),
            "payment_terms": c.payment_terms,
            "terms": c.terms,
        }
    )


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    contract: Contract,
    *,
    terms_form: FormState | None = None,
    generate_form: FormState | None = None,
    schedule_form: FormState | None = None,
    collect_form: FormState | None = None,
    action_error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    today = tenant_today()
    instalments = await contracts.instalments_of(db, contract.id)
    received = await collections.collections_of(db, contract.id)
    writable = can_write(contract, p, CRM_CONTRACT_WRITE)
    scheduled = sum((i.amount for i in instalments), Decimal("0.00"))
    collected = sum((i.collected for i in instalments), Decimal("0.00"))
    overdue = sum((collections.open_amount(i) for i in instalments if i.due_date < today), Decimal("0.00"))
    account = await db.get(Account, contract.account_id)
    order = await db.get(SalesOrder, contract.sales_order_id) if contract.sales_order_id else None
    owner = (
        (await reps.user_names(db, [contract.owner_id])).get(contract.owner_id) if contract.owner_id else None
    )
    collectors = await reps.user_names(db, (c.user_id for c in received))
    return render(
        request,
        "sales/contract_detail.html",
        status=status,
        contract=contract,
        account=account,
        order=order,
        owner_name=owner,
        instalments=instalments,
        statuses={i.id: collections.instalment_status(i, today) for i in instalments},
        received=received,
        collectors=collectors,
        instalment_of={i.id: i for i in instalments},
        scheduled=scheduled,
        collected=collected,
        open_total=scheduled - collected,
        overdue_total=overdue,
        terms_form=terms_form or _terms_state(contract),
        generate_form=generate_form
        or FormState(
            {"count": "4", "every_months": "1", "first_due_date": (contract.start_date or today).isoformat()}
        ),
        schedule_form=schedule_form,
        collect_form=collect_form or _collect_state(instalments, today),
        open_ids=[i.id for i in instalments if i.collected < i.amount],
        instalment_choices=[
            (i.id, _instalment_label(i, contract.currency)) for i in instalments if i.collected < i.amount
        ],
        methods=[(k, i18n.gettext(v)) for k, v in collections.METHODS.items()],
        writable=writable and contract.status in ("draft", "active"),
        has_collections=collected > 0,
        labels=contracts.STATUS_LABELS,
        instalment_labels=collections.STATUS_LABELS,
        action_error=action_error,
        today=today,
        tz=viewer_tz(request),
        **documents.formatters(),
    )


def _instalment_label(i: PaymentInstalment, currency: str) -> str:
    due = i18n.format_date(i.due_date)
    amount = i18n.format_money(collections.open_amount(i), currency)
    text = i18n.gettext("Due {date}: {amount} open", date=due, amount=amount)
    return f"{text} · {i.description}" if i.description else text


def _collect_state(instalments: list[PaymentInstalment], today: Any) -> FormState:
    """The collection form proposes the oldest open instalment and what is open on it."""
    first = next((i for i in instalments if i.collected < i.amount), None)
    return FormState(
        {
            "instalment_id": first.id if first else "",
            "amount": documents.plain(collections.open_amount(first)) if first else "",
            "received_on": today.isoformat(),
            "method": "bank_transfer",
        }
    )


@get(f"{BASE}/{{contract_id:int}}", opt=perm(CRM_CONTRACT_READ, resource="crm_contracts"))
async def contract_detail(
    request: Request[Any, Any, Any], db: DbSession, contract_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, await contracts.get_contract(db, principal(request), contract_id))


async def _refused(
    request: Request[Any, Any, Any], db: AsyncSession, contract_id: int, exc: DomainError, **forms: Any
) -> Response[Any]:
    await db.rollback()
    contract = await contracts.get_contract(db, principal(request), contract_id)
    if forms and exc.errors:
        return await _detail(request, db, contract, status=422, **forms)
    return await _detail(
        request, db, contract, status=422, action_error=i18n.gettext(exc.message, **exc.params)
    )


@post(f"{BASE}/{{contract_id:int}}", opt=perm(CRM_CONTRACT_WRITE, resource="crm_contracts"))
async def contract_save(
    request: Request[Any, Any, Any], db: DbSession, contract_id: FromPath[int]
) -> Response[Any]:
    contract = await contracts.get_contract(db, principal(request), contract_id)
    form = await form_data(request)
    data = dict(form)
    if contract.status != "draft":  # the form shows value and currency read-only once active
        data.pop("value", None)
        data.pop("currency", None)
    try:
        await contracts.update_contract(db, principal(request), contract.id, data)
    except DomainError as exc:
        return await _refused(request, db, contract_id, exc, terms_form=FormState(form, exc))
    flash(request, "success", i18n.gettext("Contract {number} is saved.", number=contract.number))
    return redirect(f"{BASE}/{contract.id}", request)


@post(f"{BASE}/{{contract_id:int}}/schedule/generate", opt=perm(CRM_CONTRACT_WRITE, resource="crm_contracts"))
async def schedule_generate(
    request: Request[Any, Any, Any], db: DbSession, contract_id: FromPath[int]
) -> Response[Any]:
    contract = await contracts.get_contract(db, principal(request), contract_id)
    form = await form_data(request)
    try:
        rows = await contracts.generate_schedule(db, principal(request), contract.id, form)
    except DomainError as exc:
        return await _refused(request, db, contract_id, exc, generate_form=FormState(form, exc))
    flash(
        request,
        "success",
        i18n.ngettext("The schedule has {n} instalment.", "The schedule has {n} instalments.", len(rows)),
    )
    return redirect(f"{BASE}/{contract.id}#schedule", request)


def schedule_rows(form: dict[str, Any]) -> list[dict[str, Any]]:
    """The hand-edited schedule's rows (``id[]``, ``due_date[]``, ``amount[]``, ``description[]``);
    rows left completely blank are not rows."""
    columns = {k: as_list(form.get(f"{k}[]")) for k in ("id", "due_date", "amount", "description")}
    count = max((len(v) for v in columns.values()), default=0)
    rows = []
    for i in range(count):
        row = {k: (v[i] if i < len(v) else "") for k, v in columns.items()}
        if any(str(row[k]).strip() for k in ("due_date", "amount", "description")) or row["id"]:
            rows.append(row)
    return rows


@post(f"{BASE}/{{contract_id:int}}/schedule", opt=perm(CRM_CONTRACT_WRITE, resource="crm_contracts"))
async def schedule_save(
    request: Request[Any, Any, Any], db: DbSession, contract_id: FromPath[int]
) -> Response[Any]:
    contract = await contracts.get_contract(db, principal(request), contract_id)
    form = await form_data(request)
    rows = schedule_rows(form)
    try:
        await contracts.save_schedule(db, principal(request), contract.id, rows)
    except DomainError as exc:
        return await _refused(request, db, contract_id, exc, schedule_form=FormState({"rows": rows}, exc))
    flash(request, "success", i18n.gettext("The payment schedule is saved."))
    return redirect(f"{BASE}/{contract.id}#schedule", request)


STATUS_ACTIONS = {
    "activate": (contracts.activate_contract, lazy("Contract {number} is active.")),
    "complete": (contracts.complete_contract, lazy("Contract {number} is completed.")),
    "terminate": (contracts.terminate_contract, lazy("Contract {number} is terminated.")),
}


@post(f"{BASE}/{{contract_id:int}}/status", opt=perm(CRM_CONTRACT_WRITE, resource="crm_contracts"))
async def contract_status(
    request: Request[Any, Any, Any], db: DbSession, contract_id: FromPath[int]
) -> Response[Any]:
    contract = await contracts.get_contract(db, principal(request), contract_id)
    action = str((await form_data(request)).get("action") or "")
    if action not in STATUS_ACTIONS:
        return await _detail(
            request, db, contract, status=422, action_error=i18n.gettext("Choose what to do.")
        )
    change, done = STATUS_ACTIONS[action]
    try:
        await change(db, principal(request), contract.id)
    except DomainError as exc:
        return await _refused(request, db, contract_id, exc)
    flash(request, "success", i18n.gettext(done, number=contract.number))
    return redirect(f"{BASE}/{contract.id}", request)


@post(f"{BASE}/{{contract_id:int}}/collections", opt=perm(CRM_CONTRACT_WRITE, resource="crm_contracts"))
async def collection_record(
    request: Request[Any, Any, Any], db: DbSession, contract_id: FromPath[int]
) -> Response[Any]:
    contract = await contracts.get_contract(db, principal(request), contract_id)
    form = await form_data(request)
    instalment_id = optional_id(form.get("instalment_id"))
    instalment = await db.get(PaymentInstalment, instalment_id) if instalment_id else None
    try:
        if instalment is None or instalment.contract_id != contract.id:
            raise ValidationFailed([FieldError("instalment_id", "Choose an instalment of this contract.")])
        collection = await collections.record_collection(db, principal(request), instalment.id, form)
    except DomainError as exc:
        return await _refused(request, db, contract.id, exc, collect_form=FormState(form, exc))
    amount = i18n.format_money(collection.amount, contract.currency)
    flash(request, "success", i18n.gettext("{amount} is recorded as collected.", amount=amount))
    return redirect(f"{BASE}/{contract.id}#schedule", request)


# --- the collections page --------------------------------------------------------------------


async def _board(
    request: Request[Any, Any, Any], db: AsyncSession
) -> tuple[collections.CollectionBoard, int | None, dict[int, str]]:
    """The board for the page's ``?owner=`` filter under the reader's record rules, with the
    owners' names: what the page and its export both show."""
    owner_id = optional_id(request.query_params.get("owner"))
    board = await collections.collection_board(db, principal(request), owner_id=owner_id)
    owners = [r.owner_id for r in board.reps] + [
        i.owner_id for i in (*board.invoices_overdue, *board.invoices_due)
    ]
    names = await reps.user_names(db, owners)
    return board, owner_id, names


@get(BOARD, opt=perm(CRM_CONTRACT_READ))
async def collection_board(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    people = await documents.owner_options(db, p, CRM_CONTRACT_READ)
    board, owner_id, names = await _board(request, db)
    return render(
        request,
        "sales/collections.html",
        board=board,
        people=people,
        owner_id=owner_id,
        names=names,
        labels=collections.STATUS_LABELS,
        export_url=f"{BOARD}/export.csv?owner={owner_id}" if owner_id else f"{BOARD}/export.csv",
        **documents.formatters(),
    )


BOARD_HEADERS = [
    lazy("Contract"),
    lazy("Title"),
    lazy("Account"),
    lazy("Owner"),
    lazy("Instalment"),
    lazy("Due"),
    lazy("Currency"),
    lazy("Amount"),
    lazy("Collected"),
    lazy("Still to collect"),
    lazy("Status"),
    lazy("Days late"),
]


def _board_row(item: collections.DueItem, today: Any, names: dict[int, str]) -> list[Any]:
    i, c = item.instalment, item.contract
    return [
        c.number,
        c.title,
        item.account_name,
        names.get(c.owner_id, "") if c.owner_id is not None else "",
        i.description,
        i.due_date.isoformat(),
        c.currency,
        f"{Decimal(i.amount):.2f}",
        f"{Decimal(i.collected):.2f}",
        f"{item.open:.2f}",
        i18n.gettext(collections.STATUS_LABELS[item.status]),
        (today - i.due_date).days if item.status == "overdue" else "",
    ]


@get(f"{BOARD}/export.csv", opt=perm(CRM_CONTRACT_READ))
async def collection_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The board's instalments — overdue, then due in the next 30 days, by due date — for the
    same owner filter and record rules as the page."""
    board, _owner_id, names = await _board(request, db)
    rows = [_board_row(item, board.today, names) for item in (*board.overdue, *board.due)]
    filename = f"collections-{board.today.isoformat()}.csv"
    return csv_download(csv_bytes([i18n.gettext(h) for h in BOARD_HEADERS], rows), f"{filename}")


ROUTES = [
    contract_list,
    contract_export,
    contract_new,
    contract_create,
    contract_detail,
    contract_save,
    schedule_generate,
    schedule_save,
    contract_status,
    collection_record,
    collection_board,
    collection_export,
]
