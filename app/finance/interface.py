"""What other contexts may use of finance (ARCHITECTURE.md: never its models or services).

The posting door (FIN-6): a context posts its document's entry in the document's own transaction

    from app.finance import interface as finance

    code = await finance.standard_account(session, "receivable")
    entry = await finance.post(session, principal, finance.PostingRequest(
        date=order.order_date, source_type="crm.sales_order", source_id=order.id, memo=order.number,
        lines=[finance.PostingLine(code, debit=total), ...]))

and gets back a ``PostedEntry`` (id, number). Refusals are ``PostingRefused`` / ``PeriodClosed``
(app/finance/errors.py), raised before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.finance.errors import PayableRefused, PeriodClosed, PostingRefused
from app.finance.services.bills import BillInput, BillLineInput
from app.finance.services.bills import enter_bill as _enter_bill
from app.finance.services.charts import TEMPLATES
from app.finance.services.posting import PostingLine, PostingRequest
from app.finance.services.posting import post as _post
from app.finance.services.rules import account_code
from app.finance.services.setup import default_template, install_chart

__all__ = [
    "CHART_TEMPLATES",
    "BillInput",
    "BillLineInput",
    "PayableRefused",
    "PeriodClosed",
    "PostedBill",
    "PostedEntry",
    "PostingLine",
    "PostingRefused",
    "PostingRequest",
    "default_chart",
    "enter_bill",
    "post",
    "set_up_books",
    "standard_account",
]


@dataclass(frozen=True)
class PostedEntry:
    id: int
    number: str
    period: str


async def post(session: Any, principal: Any, request: PostingRequest) -> PostedEntry:
    """Post ``request`` in the caller's transaction (see app/finance/services/posting.py)."""
    entry = await _post(session, principal, request)
    return PostedEntry(entry.id, entry.number or "", f"{entry.entry_date:%Y-%m}")


async def standard_account(session: Any, role: str) -> str:
    """The code of the account the tenant posts ``role`` to ("receivable", "revenue", "output_vat",
    ...): its posting rule, else the chart's default (app/finance/services/rules.py)."""
    return await account_code(session, role)


# --- tenant set-up (tenants/provisioning.py) -----------------------------------------------------
CHART_TEMPLATES = tuple(TEMPLATES)  # "cas" (企业会计准则), "ifrs"


def default_chart(locale: str | None) -> str:
    """The chart a new tenant gets unless it chooses: 企业会计准则 for a Chinese-speaking tenant."""
    return default_template(locale)


async def set_up_books(session: Any, template: str, *, currency: str) -> str:
    """Install the chart, its tax rates and the finance settings of a new tenant (in the
    provisioning transaction). Returns the template recorded."""
    return await install_chart(session, template, currency=currency)


# --- the demo tenant -----------------------------------------------------------------------------


async def seed_demo(session: Any) -> None:
    """The finance part of the demo tenant (tenants/demo.py ``DEMO_SEEDERS``), idempotent."""
    from app.finance.services.demo import seed_finance_demo

    await seed_finance_demo(session)


@dataclass(frozen=True)
class PostedBill:
    id: int
    number: str
    entry_id: int
    total: Any  # Decimal


async def enter_bill(
    session: Any, principal: Any, data: BillInput, *, source_type: str, source_id: int
) -> PostedBill:
    """Record and post a supplier's bill for a document of the caller (a purchase receipt:
    ``source_type="scm.purchase_receipt"``) in the caller's transaction; refusals are
    ``PayableRefused`` / ``PeriodClosed``, raised with nothing of the bill left in the
    transaction (docs/finance-payables.md)."""
    bill = await _enter_bill(session, principal, data, source_type=source_type, source_id=source_id)
    assert bill.entry_id is not None
    return PostedBill(bill.id, bill.number, bill.entry_id, bill.total)
