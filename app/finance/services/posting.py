"""The posting door (FIN-6): the one way anything reaches the ledger.

    entry = await post(session, principal, PostingRequest(
        source_type="crm.sales_order", source_id=order.id, date=order.order_date, journal="general",
        memo="SO-2026-00012", lines=[PostingLine("1122", debit=Decimal("1130.00")),
                                     PostingLine("6001", credit=Decimal("1000.00")),
                                     PostingLine("222101", credit=Decimal("130.00"))]))

It runs in the caller's transaction, so the entry commits or rolls back with the document that
caused it. Every check is made before the first write, so a refusal (``PostingRefused``,
``PeriodClosed``) leaves nothing behind; the database re-checks balance, period and
immutability with triggers (migration t0004) whatever writes to the tables.

Order of work: lines are checked, accounts and partners looked up, the period locked ``FOR
SHARE``; the entry is inserted as a draft with its lines, the voucher number is taken from the
journal's counter row for the period (an upsert that holds the row lock until commit: numbers are
gapless, a rolled-back posting gives its number back) and the entry flips to ``posted``, which
makes the trigger add its lines to ``fin_period_balances``. Last, ``finance.entry_posted`` is
published in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.crm import interface as crm
from app.finance import errors, events
from app.finance.models import JOURNALS, Account, Entry, EntryLine, Supplier, VoucherCounter
from app.finance.services import numbering
from app.finance.services.account_lookup import accounts_by_code
from app.finance.services.cost_centres import check_cost_centres
from app.finance.services.finance_settings import check_currency
from app.finance.services.periods import period_for
from app.finance.services.setup import ensure_finance
from app.kernel import context
from app.kernel.db import utcnow
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.principal import Principal

CENT = Decimal("0.01")
# Entries of these sources are reversed only by their document's own service (``by_document``).
DOCUMENT_SOURCES = frozenset({"finance.invoice", "finance.credit_note", "finance.bill", "finance.payment"})
MAX_AMOUNT = Decimal("9999999999999999.99")  # NUMERIC(18, 2)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PostingLine:
    account: str  # the account's code ("1122")
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    cost_centre: str | None = None
    partner_id: int | None = None  # a CRM account id (crm_accounts)
    memo: str = ""
    supplier_id: int | None = None  # a supplier (fin_suppliers): the AP subledger's key


@dataclass(frozen=True)
class PostingRequest:
    date: date
    lines: list[PostingLine]
    journal: str = "general"
    memo: str = ""
    source_type: str | None = None  # "crm.sales_order", "manual", ...
    source_id: int | None = None
    reversal_of: int | None = field(default=None)
    currency: str | None = None  # ISO 4217; None is the base currency, any other is refused


def _amount(value: object, where: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise errors.InvalidAmount(where) from exc
    if not amount.is_finite():
        raise errors.InvalidAmount(where)
    if amount < 0:
        raise errors.NegativeAmount(where)
    if amount != amount.quantize(CENT) or amount > MAX_AMOUNT:
        raise errors.InvalidAmount(where)
    return amount.quantize(CENT)


def check_lines(lines: list[PostingLine]) -> list[tuple[Decimal, Decimal]]:
    """Each line is a debit XOR a credit, not negative, in cents; the entry balances. Returns the
    amounts as (debit, credit) per line."""
    amounts = []
    for i, line in enumerate(lines):
        debit, credit = _amount(line.debit, f"lines.{i}.debit"), _amount(line.credit, f"lines.{i}.credit")
        if (debit == 0) == (credit == 0):
            raise errors.InvalidAmount(f"lines.{i}.debit")
        amounts.append((debit, credit))
    if not any(d for d, _ in amounts) or not any(c for _, c in amounts):
        raise errors.TooFewLines()
    total_debit, total_credit = sum(d for d, _ in amounts), sum(c for _, c in amounts)
    if total_debit != total_credit:
        raise errors.Unbalanced(total_debit, total_credit)
    return amounts


def _actor_label(principal: Principal | None) -> str:
    if principal is not None:
        return principal.key
    actor = context.current().actor
    return (
        f"{actor.kind}:{actor.id}" if actor and actor.id is not None else (actor.kind if actor else "system")
    )


def _flip_statement(with_document: bool) -> Any:
    """The statement of ``_number_and_post``, built once per process with bound parameters: a
    statement object reused is compiled and cache-keyed once, where one built per posting costs
    more Python than the rest of the posting's SQL (the schema of the tenant is applied when it
    runs, by the engine's schema translation).

    With a document number, the voucher counter's row comes FROM the document counter's upsert,
    so the document counter is always locked first — the order every posting keeps (document
    counter, then voucher counter), which is what keeps two postings from deadlocking."""
    document = numbering.COUNTER.cte("document") if with_document else None
    journal = bindparam("p_journal", type_=String)
    period = bindparam("p_period_id", type_=BigInteger)
    voucher_row = (
        insert(VoucherCounter).values(journal=journal, period_id=period, last_value=1)
        if document is None
        else insert(VoucherCounter).from_select(
            ["journal", "period_id", "last_value"],
            select(journal, period, literal(1, Integer)).select_from(document),
        )
    )
    voucher = (
        voucher_row.on_conflict_do_update(
            index_elements=["journal", "period_id"], set_={"last_value": VoucherCounter.last_value + 1}
        )
        .returning(VoucherCounter.last_value)
        .cte("voucher")
    )
    digits = cast(select(voucher.c.last_value).scalar_subquery(), Text)  # the CTE runs once
    entries: Table = Entry.__table__  # type: ignore[assignment]  # a mapped class's Table
    statement = (
        update(entries)
        .add_cte(voucher)
        .where(entries.c.id == bindparam("p_entry_id"))
        .values(
            number=bindparam("p_prefix", type_=Text)
            + func.lpad(digits, func.greatest(4, func.length(digits)), "0"),
            status="posted",
            posted_at=bindparam("p_now"),
            posted_by=bindparam("p_posted_by"),
            updated_at=bindparam("p_now"),
        )
    )
    if document is None:
        return statement.returning(entries.c.number, entries.c.memo)
    # The document's number leads the entry's memo ("INV-2026-00042 · SO-2026-00012 · 客户"),
    # formatted as numbering.formatted formats it.
    taken = cast(select(document.c.last_value).scalar_subquery(), Text)
    document_number = bindparam("p_document_prefix", type_=Text) + func.lpad(
        taken, func.greatest(5, func.length(taken)), "0"
    )
    return (
        statement.add_cte(document)
        .values(
            memo=document_number
            + case((entries.c.memo == "", literal("", Text)), else_=literal(" · ", Text) + entries.c.memo)
        )
        .returning(entries.c.number, entries.c.memo, select(document.c.last_value).scalar_subquery())
    )


_FLIP = {False: _flip_statement(False), True: _flip_statement(True)}


async def _number_and_post(
    session: AsyncSession,
    principal: Principal | None,
    entry: Entry,
    period: Any,
    document: tuple[str, int] | None = None,
) -> str | None:
    """Take the journal's next voucher number for the period and flip the draft to posted, in ONE
    statement: the counter row's lock (held to commit: numbers stay gapless, a rollback gives the
    number back) is taken as late as possible, and the flip fires the triggers that check the
    entry and add its lines to the period balances. ``document`` (series, year): the next number
    of that document series (numbering.py) is taken in the same statement and returned."""
    now = utcnow()
    posted_by = _actor_label(principal)
    params: dict[str, Any] = {
        "p_journal": entry.journal,
        "p_period_id": period.id,
        "p_entry_id": entry.id,
        "p_prefix": f"{JOURNALS[entry.journal]}-{period.year:04d}-{period.month:02d}-",
        "p_now": now,
        "p_posted_by": posted_by,
    }
    if document is not None:
        params.update(numbering.params(*document), p_document_prefix=numbering.prefix(*document))
    row = (await session.execute(_FLIP[document is not None], params)).one()
    number, memo = row[0], row[1]
    document_number = None if document is None else numbering.formatted(*document, row[2])
    posted = {"number": number, "status": "posted", "posted_at": now, "posted_by": posted_by, "memo": memo}
    for key, value in {**posted, "updated_at": now}.items():
        set_committed_value(entry, key, value)
    return document_number


async def post(session: AsyncSession, principal: Principal | None, request: PostingRequest) -> Entry:
    """Post ``request`` as one balanced entry in the caller's transaction; returns it, numbered."""
    entry, _ = await _post(session, principal, request, None)
    return entry


async def post_numbering(
    session: AsyncSession, principal: Principal | None, request: PostingRequest, series: str, year: int
) -> tuple[Entry, str]:
    """``post``, and the next number of the document series ``series`` (numbering.py) taken in
    the statement that numbers the entry: a document numbered when it posts (an invoice) then
    holds both gapless counters only from that statement to commit. The number leads the entry's
    memo ("INV-2026-00042 · " + the request's memo)."""
    entry, number = await _post(session, principal, request, (series, year))
    assert number is not None
    return entry, number


async def _post(
    session: AsyncSession,
    principal: Principal | None,
    request: PostingRequest,
    document: tuple[str, int] | None,
) -> tuple[Entry, str | None]:
    await ensure_finance(session)
    if request.journal not in JOURNALS:
        raise errors.UnknownJournal(request.journal)
    amounts = check_lines(request.lines)

    accounts = await accounts_by_code(session, {line.account for line in request.lines})
    for i, line in enumerate(request.lines):
        account = accounts.get(line.account)
        if account is None:
            raise errors.UnknownAccount(f"lines.{i}.account", line.account)
        if not account.postable:
            raise errors.AccountNotPostable(f"lines.{i}.account", line.account)
        if not account.active and request.reversal_of is None:  # a reversal undoes what was posted
            raise errors.AccountInactive(f"lines.{i}.account", line.account)
    partners = {line.partner_id for line in request.lines if line.partner_id is not None}
    known = await crm.existing_account_ids(session, partners)
    for i, line in enumerate(request.lines):
        if line.partner_id is not None and line.partner_id not in known:
            raise errors.UnknownPartner(f"lines.{i}.partner_id")
    # A reversal mirrors an accepted entry: its cost centres need only still exist.
    await check_cost_centres(session, request.lines, reversal=request.reversal_of is not None)
    suppliers = {line.supplier_id for line in request.lines if line.supplier_id is not None}
    if suppliers:
        found = set((await session.execute(select(Supplier.id).where(Supplier.id.in_(suppliers)))).scalars())
        for i, line in enumerate(request.lines):
            if line.supplier_id is not None and line.supplier_id not in found:
                raise errors.UnknownSupplier(f"lines.{i}.supplier_id")

    period = await period_for(session, request.date, lock=True)
    if period.status != "open":
        raise errors.PeriodClosed(period.code)
    if request.currency is not None:
        # After the period lock: a change of base currency locks the periods (finance_settings.py).
        await check_currency(session, request.currency)

    entry = (
        await session.scalars(
            insert(Entry).returning(Entry),
            [
                {
                    "journal": request.journal,
                    "entry_date": request.date,
                    "period_id": period.id,
                    "status": "draft",
                    "memo": request.memo,
                    "source_type": request.source_type,
                    "source_id": request.source_id,
                    "reversal_of": request.reversal_of,
                }
            ],
        )
    ).one()
    await session.execute(
        insert(EntryLine).execution_options(render_nulls=True),  # one statement for all lines
        [
            {
                "entry_id": entry.id,
                "line_no": i + 1,
                "account_id": accounts[line.account].id,
                "debit": debit,
                "credit": credit,
                "cost_centre": line.cost_centre or None,
                "partner_id": line.partner_id,
                "supplier_id": line.supplier_id,
                "memo": line.memo,
            }
            for i, (line, (debit, credit)) in enumerate(zip(request.lines, amounts, strict=True))
        ],
    )
    document_number = await _number_and_post(session, principal, entry, period, document)

    await publish(
        session,
        events.ENTRY_POSTED,
        {
            "entry_id": entry.id,
            "number": entry.number,
            "journal": entry.journal,
            "entry_date": entry.entry_date.isoformat(),
            "period": period.code,
            "source_type": entry.source_type,
            "source_id": entry.source_id,
            "total": str(sum(d for d, _ in amounts)),
            "reversal_of": entry.reversal_of,
        },
    )
    return entry, document_number


async def reverse(
    session: AsyncSession,
    principal: Principal | None,
    entry_id: int,
    *,
    on: date | None = None,
    memo: str | None = None,
    by_document: bool = False,
) -> Entry:
    """Post the mirror image of a posted entry (debits become credits), linked by ``reversal_of``.
    The original stays as it was. ``on`` defaults to the original's date."""
    original = (
        await session.execute(
            select(Entry).where(Entry.id == entry_id, Entry.status == "posted").with_for_update()
        )
    ).scalar_one_or_none()
    if original is None:
        raise NotFound(lazy("journal entry"))
    if original.source_type in DOCUMENT_SOURCES and not by_document:
        # An invoice's, bill's or payment's entry is corrected through its document (credit note,
        # cancellation): reversing it here would leave the document saying what the books don't.
        raise errors.EntryOfDocument(original.number or "")
    already = (await session.execute(select(Entry.id).where(Entry.reversal_of == original.id))).first()
    if already is not None:
        raise errors.AlreadyReversed(original.number or "")
    rows = (
        await session.execute(
            select(EntryLine, Account.code)
            .join(Account, Account.id == EntryLine.account_id)
            .where(EntryLine.entry_id == original.id)
            .order_by(EntryLine.line_no)
        )
    ).all()
    lines = [
        PostingLine(
            account=code,
            debit=line.credit,
            credit=line.debit,
            cost_centre=line.cost_centre,
            partner_id=line.partner_id,
            memo=line.memo,
            supplier_id=line.supplier_id,
        )
        for line, code in rows
    ]
    return await post(
        session,
        principal,
        PostingRequest(
            date=on or original.entry_date,
            lines=lines,
            journal=original.journal,
            memo=memo if memo is not None else f"↩ {original.number}",
            source_type=original.source_type,
            source_id=original.source_id,
            reversal_of=original.id,
        ),
    )


def manual_lines(raw: list[dict[str, Any]]) -> list[PostingLine]:
    """Lines typed by a person or sent by an API client: amounts as strings ("" is zero), checked
    with the field name of the line they came from."""
    lines = []
    for i, values in enumerate(raw):
        amounts = {}
        for side in ("debit", "credit"):
            text = str(values.get(side) or "").strip().replace(",", "")
            amounts[side] = _amount(text or "0", f"lines.{i}.{side}")
        lines.append(
            PostingLine(
                account=str(values.get("account") or "").strip(),
                debit=amounts["debit"],
                credit=amounts["credit"],
                cost_centre=(values.get("cost_centre") or "").strip() or None,
                partner_id=values.get("partner_id"),
                memo=(values.get("memo") or "").strip(),
            )
        )
    return lines
