"""Supplier bills (FIN-3): entered by hand now, posted from purchase receipts later through the
same ``enter_bill`` (its ``source_type`` / ``source_id`` name the receipt).

    bill = await enter_bill(session, principal, BillInput(
        supplier_id=7, supplier_reference="INV-88213", bill_date=date(2026, 12, 3),
        lines=[BillLineInput("Office rent December", Decimal("9000.00"), tax_rate="VAT9",
                             split_rule="RENT")]))

Every check is made before the first write and every problem is named by its field
(``lines.1.account``); what is written — the bill, its lines and its entry — is written in a
savepoint of the caller's transaction, so a refusal leaves the caller's transaction as it was.

The entry (journal "general", source ``finance.bill``) debits each line's account with its net
amount per cost centre (a split rule becomes one line per cost centre, the rounding residual on
its last share: services/splits.py), debits input VAT per tax rate on the rate's input account,
and credits the payable account (posting rule ``payable``) with the total, naming the supplier
(``supplier_id``) — the AP subledger's link to the ledger (payables_reports.check_payables).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import errors
from app.finance.models import (
    Account,
    Bill,
    BillLine,
    CostCentre,
    Period,
    SplitRule,
    SplitRuleShare,
    Supplier,
    TaxRate,
)
from app.finance.services import numbering, rules, splits, taxes
from app.finance.services.payables_input import Problems, tenant_today
from app.finance.services.posting import PostingLine, PostingRequest, post, reverse
from app.finance.services.setup import ensure_finance
from app.finance.services.suppliers import base_currency
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound
from app.kernel.i18n import lazy
from app.security.principal import Principal

MAX_LINES = 200
ZERO = Decimal("0.00")
BILL_ACCOUNT_TYPES = ("asset", "expense")


@dataclass
class BillLineInput:
    description: str
    net_amount: Decimal | str
    account: str | None = None  # account code; blank → the posting rule "admin_expense"
    category: str | None = None  # product category: its VAT rate is the default
    tax_rate: str | None = None  # TaxRate code ("VAT13"); blank → the category's rate, else no tax
    cost_centre: str | None = None  # a cost centre's code ...
    split_rule: str | None = None  # ... or a split rule's code, not both


@dataclass
class BillInput:
    supplier_id: int | str | None
    supplier_reference: str
    bill_date: date | str | None
    lines: list[BillLineInput]
    due_date: date | str | None = None  # blank → bill date + the supplier's payment terms
    currency: str | None = None  # blank → the supplier's; must be the base currency
    memo: str = ""


@dataclass
class _Raw:
    """One input line's values, cleaned (codes upper-cased for lookups)."""

    description: str
    net: Decimal | None
    account: str
    category: str | None
    tax_rate: str
    cost_centre: str
    split_rule: str


@dataclass
class _Share:
    cost_centre: str | None
    net: Decimal
    tax: Decimal


@dataclass
class _Line:
    """One input line, checked and computed: its shares are the bill lines stored."""

    description: str
    account: Account
    category: str | None
    rate: TaxRate | None
    net: Decimal
    tax: Decimal
    split_rule: SplitRule | None
    shares: list[_Share] = field(default_factory=list)


async def check_open_period(session: AsyncSession, on: date, field_name: str) -> None:
    """Refuse a date in a closed period before anything is written (the posting door would too,
    but only after the document is in the session); the error names the form's date field."""
    status = (
        await session.execute(select(Period.status).where(Period.year == on.year, Period.month == on.month))
    ).scalar_one_or_none()
    if status == "closed":
        exc = errors.PeriodClosed(f"{on:%Y-%m}")
        exc.errors = [FieldError(field_name, exc.message, exc.params)]
        raise exc


def _header(data: BillInput, problems: Problems) -> dict[str, Any]:
    return {
        "supplier_id": problems.record_id(
            data.supplier_id, "supplier_id", "unknown_supplier", lazy("Choose a supplier.")
        ),
        "reference": problems.text(data.supplier_reference, "supplier_reference", max_len=80, required=True),
        "bill_date": problems.date(data.bill_date, "bill_date", required=True),
        "due_date": problems.date(data.due_date, "due_date"),
        "currency": problems.currency(data.currency, "currency"),
        "memo": problems.text(data.memo, "memo", max_len=1000),
    }


async def _supplier(session: AsyncSession, supplier_id: int | None, problems: Problems) -> Supplier | None:
    """The supplier, locked ``FOR KEY SHARE``: deleting it waits for this bill (and then refuses)."""
    if supplier_id is None:
        return None
    supplier = (
        await session.execute(
            select(Supplier).where(Supplier.id == supplier_id).with_for_update(read=True, key_share=True)
        )
    ).scalar_one_or_none()
    if supplier is None:
        problems.add("unknown_supplier", "supplier_id", lazy("There is no such supplier."))
    elif not supplier.active:
        problems.add(
            "supplier_inactive",
            "supplier_id",
            lazy("{name} is deactivated: reactivate the supplier to enter bills."),
            name=supplier.name,
        )
    return supplier


async def _by_code(session: AsyncSession, model: Any, codes: set[str]) -> dict[str, Any]:
    """Rows of ``model`` by upper-cased code."""
    if not codes:
        return {}
    rows = await session.execute(select(model).where(func.upper(model.code).in_(codes)))
    return {row.code.upper(): row for row in rows.scalars()}


async def _split_shares(
    session: AsyncSession, rule_ids: list[int]
) -> dict[int, list[tuple[SplitRuleShare, CostCentre]]]:
    """Each rule's shares in ``position`` order (then id): the residual goes to the last."""
    out: dict[int, list[tuple[SplitRuleShare, CostCentre]]] = defaultdict(list)
    if rule_ids:
        rows = await session.execute(
            select(SplitRuleShare, CostCentre)
            .join(CostCentre, CostCentre.id == SplitRuleShare.cost_centre_id)
            .where(SplitRuleShare.rule_id.in_(rule_ids))
            .order_by(SplitRuleShare.rule_id, SplitRuleShare.position, SplitRuleShare.id)
        )
        for share, centre in rows.all():
            out[share.rule_id].append((share, centre))
    return out


async def _lines(session: AsyncSession, raw: list[BillLineInput], problems: Problems) -> list[_Line]:
    """Check every line (all problems at once) and compute its tax and cost-centre shares."""
    if not raw:
        problems.add("too_few_lines", "lines", lazy("A bill needs at least one line."))
        return []
    if len(raw) > MAX_LINES:
        problems.add("too_many_lines", "lines", lazy("A bill has at most {n} lines."), n=MAX_LINES)
        return []
    default_account = await rules.account_code(session, "admin_expense")
    control = {await rules.account_code(session, role) for role in ("receivable", "payable")}
    cleaned = []
    for i, line in enumerate(raw):
        p = f"lines.{i}."
        cleaned.append(
            _Raw(
                description=problems.text(line.description, p + "description", max_len=300, required=True),
                net=problems.money(line.net_amount, p + "net_amount"),
                account=problems.text(line.account, p + "account", max_len=20) or default_account,
                category=problems.optional_text(line.category, p + "category", max_len=80),
                tax_rate=problems.text(line.tax_rate, p + "tax_rate", max_len=20).upper(),
                cost_centre=problems.text(line.cost_centre, p + "cost_centre", max_len=40).upper(),
                split_rule=problems.text(line.split_rule, p + "split_rule", max_len=40).upper(),
            )
        )
    accounts = {
        a.code: a
        for a in (
            await session.execute(select(Account).where(Account.code.in_({c.account for c in cleaned})))
        ).scalars()
    }
    rates = await _by_code(session, TaxRate, {c.tax_rate for c in cleaned if c.tax_rate})
    centres = await _by_code(session, CostCentre, {c.cost_centre for c in cleaned if c.cost_centre})
    split_rules = await _by_code(session, SplitRule, {c.split_rule for c in cleaned if c.split_rule})
    shares = await _split_shares(session, [r.id for r in split_rules.values()])

    out = []
    for i, c in enumerate(cleaned):
        p = f"lines.{i}."
        account = accounts.get(c.account)
        if account is None:
            problems.add(
                "unknown_account", p + "account", lazy("There is no account {account}."), account=c.account
            )
        elif not account.postable:
            problems.add(
                "account_not_postable",
                p + "account",
                lazy("The account {account} is a group account: post to one of its sub-accounts."),
                account=account.code,
            )
        elif not account.active:
            problems.add(
                "account_inactive",
                p + "account",
                lazy("The account {account} is no longer in use."),
                account=account.code,
            )
        elif account.type not in BILL_ACCOUNT_TYPES or account.code in control:
            problems.add(
                "account_not_for_bills",
                p + "account",
                lazy("Bill lines post to expense or asset accounts, not to {account}."),
                account=account.code,
            )

        rate: TaxRate | None = None
        if c.tax_rate:
            rate = rates.get(c.tax_rate)
            if rate is None:
                problems.add(
                    "unknown_tax_rate",
                    p + "tax_rate",
                    lazy("There is no tax rate {rate}."),
                    rate=c.tax_rate,
                )
        elif c.category:
            rate = await taxes.rate_for_category(session, c.category)
        if rate is not None and not rate.active:
            problems.add(
                "tax_rate_inactive",
                p + "tax_rate",
                lazy("The tax rate {rate} is no longer in use."),
                rate=rate.code,
            )

        centre_shares: list[tuple[str, Decimal]] = []
        rule: SplitRule | None = None
        if c.cost_centre and c.split_rule:
            problems.add(
                "cost_centre_and_split_rule",
                p + "split_rule",
                lazy("Choose a cost centre or a split rule, not both."),
            )
        elif c.cost_centre:
            centre = centres.get(c.cost_centre)
            if centre is None:
                problems.add(
                    "unknown_cost_centre",
                    p + "cost_centre",
                    lazy("There is no cost centre {code}."),
                    code=c.cost_centre,
                )
            elif not centre.active:
                problems.add(
                    "cost_centre_inactive",
                    p + "cost_centre",
                    lazy("The cost centre {code} is no longer in use."),
                    code=centre.code,
                )
            else:
                centre_shares = [(centre.code, Decimal(100))]
        elif c.split_rule:
            rule = split_rules.get(c.split_rule)
            if rule is None:
                problems.add(
                    "unknown_split_rule",
                    p + "split_rule",
                    lazy("There is no split rule {code}."),
                    code=c.split_rule,
                )
            elif not rule.active:
                problems.add(
                    "split_rule_inactive",
                    p + "split_rule",
                    lazy("The split rule {code} is no longer in use."),
                    code=rule.code,
                )
            else:
                rule_shares = shares.get(rule.id, [])
                inactive = [cc.code for _, cc in rule_shares if not cc.active]
                if not rule_shares or sum(s.percent for s, _ in rule_shares) != 100:
                    problems.add(
                        "split_rule_invalid",
                        p + "split_rule",
                        lazy("The shares of the split rule {code} do not add up to 100 %."),
                        code=rule.code,
                    )
                elif inactive:
                    problems.add(
                        "cost_centre_inactive",
                        p + "split_rule",
                        lazy("The cost centre {code} is no longer in use."),
                        code=inactive[0],
                    )
                else:
                    centre_shares = [(cc.code, s.percent) for s, cc in rule_shares]

        if account is None or c.net is None or problems:
            continue  # nothing to compute once something is wrong: the bill is refused anyway
        net: Decimal = c.net
        tax = splits.tax_of(net, rate.rate) if rate is not None else ZERO
        computed = _Line(c.description, account, c.category, rate, net, tax, rule)
        if centre_shares:
            nets = splits.split(net, centre_shares)
            tax_parts = splits.split(tax, centre_shares)
            computed.shares = [_Share(code, n, t) for (code, n), (_, t) in zip(nets, tax_parts, strict=True)]
        else:
            computed.shares = [_Share(None, net, tax)]
        out.append(computed)
    return out


def _normalised(reference: Any) -> Any:
    return func.upper(func.regexp_replace(reference, r"\s", "", "g"))


def _duplicate_reference(reference: str, number: str | None) -> errors.PayableRefused:
    return errors.PayableRefused(
        "duplicate_supplier_reference",
        lazy("This supplier's invoice {reference} is already entered as bill {number}."),
        field="supplier_reference",
        status=409,
        reference=reference,
        number=number or "",
    )


async def _check_reference_free(session: AsyncSession, supplier_id: int, reference: str) -> None:
    """One bill per supplier invoice — compared without spaces and case (INV 001 = inv001)."""
    number = (
        await session.execute(
            select(Bill.number).where(
                Bill.supplier_id == supplier_id,
                _normalised(Bill.supplier_reference) == func.upper(reference.replace(" ", "")),
            )
        )
    ).scalar()
    if number is not None:
        raise _duplicate_reference(reference, number)


async def enter_bill(
    session: AsyncSession,
    principal: Principal | None,
    data: BillInput,
    *,
    source_type: str | None = None,
    source_id: int | None = None,
) -> Bill:
    """Record and post a supplier's bill; returns it numbered (BILL-YYYY-NNNNN) with ``entry_id``.
    ``source_type`` / ``source_id`` name the document it comes from (a purchase receipt)."""
    await ensure_finance(session)
    problems = Problems()
    head = _header(data, problems)
    supplier = await _supplier(session, head["supplier_id"], problems)
    lines = await _lines(session, list(data.lines), problems)
    bill_date: date | None = head["bill_date"]
    currency = head["currency"] or (supplier.currency if supplier is not None else "")
    if supplier is not None and supplier.active:
        base = await base_currency(session)
        if currency != base:
            problems.add(
                "currency_mismatch",
                "currency",
                lazy("Bills are entered in {base}, the organisation's currency, not {currency}."),
                base=base,
                currency=currency,
            )
    if bill_date is not None and head["due_date"] is not None and head["due_date"] < bill_date:
        problems.add("due_before_bill_date", "due_date", lazy("The due date cannot be before the bill date."))
    problems.raise_if_any()
    assert supplier is not None
    assert bill_date is not None
    await _check_reference_free(session, supplier.id, head["reference"])
    await check_open_period(session, bill_date, "bill_date")

    due = head["due_date"] or bill_date + timedelta(days=supplier.payment_terms_days)
    subtotal = sum((line.net for line in lines), ZERO)
    tax_total = sum((line.tax for line in lines), ZERO)
    try:
        async with session.begin_nested(), audited(session, "finance.bill_entered"):
            bill = Bill(
                number=await numbering.next_number(session, "BILL", bill_date.year),
                supplier_id=supplier.id,
                supplier_reference=head["reference"],
                bill_date=bill_date,
                due_date=due,
                currency=currency,
                subtotal=subtotal,
                tax_total=tax_total,
                total=subtotal + tax_total,
                paid=ZERO,
                source_type=source_type,
                source_id=source_id,
                memo=head["memo"],
                created_by=principal.id if principal is not None and principal.kind == "user" else None,
            )
            session.add(bill)
            await session.flush()
            session.add_all(_bill_lines(bill.id, lines))
            entry = await post(session, principal, await _entry(session, bill, supplier, lines))
            bill.entry_id = entry.id
    except IntegrityError as exc:
        if "uq_fin_bills_supplier_id_supplier_reference" in str(exc.orig):
            raise _duplicate_reference(head["reference"], None) from None
        raise
    except errors.PostingRefused as exc:
        exc.errors = []  # they name the entry's lines, not the bill's
        raise
    return bill


def _bill_lines(bill_id: int, lines: list[_Line]) -> list[BillLine]:
    return [
        BillLine(
            bill_id=bill_id,
            line_no=n,
            description=line.description,
            account_id=line.account.id,
            category=line.category,
            tax_rate=line.rate.rate if line.rate is not None else ZERO,
            tax_rate_id=line.rate.id if line.rate is not None else None,
            net_amount=share.net,
            tax_amount=share.tax,
            total_amount=share.net + share.tax,
            cost_centre=share.cost_centre,
            split_rule_id=line.split_rule.id if line.split_rule is not None else None,
        )
        for n, line in enumerate(lines, start=1)
        for share in line.shares
    ]


async def _entry(session: AsyncSession, bill: Bill, supplier: Supplier, lines: list[_Line]) -> PostingRequest:
    posting: list[PostingLine] = [
        PostingLine(
            line.account.code, debit=share.net, cost_centre=share.cost_centre, memo=line.description[:200]
        )
        for line in lines
        for share in line.shares
        if share.net > 0  # a share split down to 0.00 posts nothing
    ]
    vat: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rates: dict[int, TaxRate] = {}
    for line in lines:
        if line.rate is not None and line.tax > 0:
            vat[line.rate.id] += line.tax
            rates[line.rate.id] = line.rate
    if vat:
        input_accounts = dict(
            (
                await session.execute(
                    select(Account.id, Account.code).where(
                        Account.id.in_({r.input_account_id for r in rates.values()})
                    )
                )
            ).all()
        )
        posting += [
            PostingLine(
                input_accounts[rates[rid].input_account_id], debit=amount, memo=f"{rates[rid].name}"[:200]
            )
            for rid, amount in sorted(vat.items())
        ]
    posting.append(
        PostingLine(
            await rules.account_code(session, "payable"),
            credit=bill.total,
            supplier_id=supplier.id,
            memo=f"{supplier.name} {bill.supplier_reference}"[:200],
        )
    )
    return PostingRequest(
        date=bill.bill_date,
        journal="general",
        memo=f"{bill.number} · {supplier.name} · {bill.supplier_reference}",
        source_type="finance.bill",
        source_id=bill.id,
        lines=posting,
    )


async def cancel_bill(
    session: AsyncSession, principal: Principal | None, bill_id: int, *, on: date | None = None
) -> Bill:
    """Cancel an unpaid bill: its entry is reversed on ``on`` (default the bill date; a later
    date when the bill's period is closed) and the bill is marked cancelled. A bill with payments
    allocated is refused (``bill_has_payments``)."""
    bill = await get_bill(session, bill_id, lock=True)
    if bill.cancelled_on is not None:
        raise errors.PayableRefused(
            "bill_already_cancelled",
            lazy("The bill {number} is already cancelled."),
            status=409,
            number=bill.number,
        )
    if bill.paid > 0:
        raise errors.PayableRefused(
            "bill_has_payments",
            lazy("Payments are allocated to the bill {number}: it cannot be cancelled."),
            status=409,
            number=bill.number,
        )
    on = on or bill.bill_date
    if on < bill.bill_date:
        raise errors.PayableRefused(
            "cancelled_before_bill_date", lazy("A bill cannot be cancelled before its date."), field="on"
        )
    await check_open_period(session, on, "on")
    assert bill.entry_id is not None
    async with session.begin_nested(), audited(session, "finance.bill_cancelled"):
        await reverse(session, principal, bill.entry_id, on=on, memo=f"↩ {bill.number}", by_document=True)
        bill.cancelled_on = on
    return bill


async def get_bill(session: AsyncSession, bill_id: int, *, lock: bool = False) -> Bill:
    stmt = select(Bill).where(Bill.id == bill_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    bill = (await session.execute(stmt)).scalar_one_or_none()
    if bill is None:
        raise NotFound(lazy("bill"))
    return bill


BILL_STATUSES = ("open", "overdue", "paid", "cancelled")


def bills_stmt(
    *,
    supplier_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    today: date | None = None,
) -> Select[Any]:
    """Bills with their supplier: ``select(Bill, Supplier)``. ``status``: open (not fully paid),
    overdue (open and past due on ``today``), paid, cancelled."""
    stmt = cast(Select[Any], select(Bill, Supplier).join(Supplier, Supplier.id == Bill.supplier_id))
    return filter_bills(
        stmt, supplier_id=supplier_id, status=status, q=q, date_from=date_from, date_to=date_to, today=today
    )


def filter_bills(
    stmt: Select[Any],
    *,
    supplier_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    today: date | None = None,
) -> Select[Any]:
    if supplier_id is not None:
        stmt = stmt.where(Bill.supplier_id == supplier_id)
    if status in ("open", "overdue"):
        stmt = stmt.where(Bill.cancelled_on.is_(None), Bill.paid < Bill.total)
        if status == "overdue":
            stmt = stmt.where(Bill.due_date < (today or tenant_today()))
    elif status == "paid":
        stmt = stmt.where(Bill.cancelled_on.is_(None), Bill.paid == Bill.total)
    elif status == "cancelled":
        stmt = stmt.where(Bill.cancelled_on.is_not(None))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(Bill.number.ilike(like), Bill.supplier_reference.ilike(like), Bill.memo.ilike(like))
        )
    if date_from is not None:
        stmt = stmt.where(Bill.bill_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Bill.bill_date <= date_to)
    return stmt


def bill_status(bill: Bill, today: date) -> str:
    if bill.cancelled_on is not None:
        return "cancelled"
    if bill.paid >= bill.total:
        return "paid"
    return "overdue" if bill.due_date < today else "open"


@dataclass(frozen=True)
class BillDetail:
    bill: Bill
    supplier: Supplier
    lines: list[tuple[BillLine, Account, str | None, str | None]]  # line, account, rate code, split rule code
    taxes: list[tuple[str, str, Decimal, Decimal]]  # rate code, rate name, net, tax
    allocations: list[tuple[Any, Any]]  # (Allocation, Payment)


async def bill_detail(session: AsyncSession, bill_id: int) -> BillDetail:
    from app.finance.models import Allocation, Payment

    bill = await get_bill(session, bill_id)
    supplier = await session.get(Supplier, bill.supplier_id)
    assert supplier is not None
    rows = (
        await session.execute(
            select(BillLine, Account, TaxRate.code, SplitRule.code)
            .join(Account, Account.id == BillLine.account_id)
            .outerjoin(TaxRate, TaxRate.id == BillLine.tax_rate_id)
            .outerjoin(SplitRule, SplitRule.id == BillLine.split_rule_id)
            .where(BillLine.bill_id == bill.id)
            .order_by(BillLine.line_no, BillLine.id)
        )
    ).all()
    lines: list[tuple[BillLine, Account, str | None, str | None]] = [
        (line, account, rate, rule) for line, account, rate, rule in rows
    ]
    by_rate: dict[str, list[Decimal]] = {}
    names: dict[str, str] = {}
    for line, _, code, _ in lines:
        key = code or ""
        acc = by_rate.setdefault(key, [ZERO, ZERO])
        acc[0] += line.net_amount
        acc[1] += line.tax_amount
    if by_rate:
        names = dict(
            (
                await session.execute(
                    select(TaxRate.code, TaxRate.name).where(TaxRate.code.in_(list(by_rate)))
                )
            ).all()
        )
    allocations = (
        await session.execute(
            select(Allocation, Payment)
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Allocation.bill_id == bill.id)
            .order_by(Allocation.allocated_on, Allocation.id)
        )
    ).all()
    return BillDetail(
        bill,
        supplier,
        lines,
        [(code, names.get(code, ""), net, tax) for code, (net, tax) in sorted(by_rate.items())],
        [(a, p) for a, p in allocations],
    )
