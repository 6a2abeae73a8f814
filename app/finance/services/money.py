"""Which accounts hold money — one definition for what a customer's payment goes into, what a
supplier's payment comes from, and what the cash report covers.

Payments: postable asset accounts whose code starts with the account the tenant's ``cash`` /
``bank`` posting rules name (their sub-accounts such as 100201 招商银行 included). The cash report
adds the chart's other cash codes (CAS 1001 库存现金, 1002 银行存款, 1012 其他货币资金; IFRS 1000,
1010) and accounts no longer in use, whose history it still shows.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account
from app.finance.services.rules import account_code
from app.finance.services.setup import ensure_finance
from app.finance.services.statement_layouts import CASH_PREFIXES


async def money_accounts(session: AsyncSession, *, for_report: bool = False) -> list[Account]:
    """The accounts payments use (active), in code order; ``for_report``: the cash report's set."""
    template = await ensure_finance(session)
    prefixes = {await account_code(session, "cash"), await account_code(session, "bank")}
    if for_report:
        prefixes |= set(CASH_PREFIXES[template])
    stmt = select(Account).where(
        Account.type == "asset",
        Account.postable.is_(True),
        or_(*(Account.code.startswith(p, autoescape=True) for p in prefixes)),
    )
    if not for_report:
        stmt = stmt.where(Account.active.is_(True))
    return list((await session.execute(stmt.order_by(Account.code))).scalars())
