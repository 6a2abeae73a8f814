"""Installing a chart of accounts: once per tenant, on first use of finance (docs/finance.md).

``ensure_finance`` is called by every entry point of finance (the posting door, the API, the
portal): when the tenant has no ``fin_settings`` row yet it installs the template its locale
suggests — China Accounting Standards for a Chinese-speaking tenant, the IFRS-style chart
otherwise. ``install_chart`` installs a named template; both are idempotent and safe when two
requests race (``ON CONFLICT DO NOTHING`` on the settings row and on account codes).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, FinanceSettings
from app.finance.services.charts import TEMPLATES
from app.finance.services.taxes import install_tax_rates
from app.kernel import context
from app.kernel.db import transaction_memo


def default_template(locale: str | None) -> str:
    return "cas" if (locale or "").lower().startswith("zh") else "ifrs"


async def current_template(session: AsyncSession) -> str | None:
    return (await session.execute(select(FinanceSettings.chart_template))).scalar_one_or_none()


_TEMPLATE_READ = "finance.chart_template"
_SETTINGS_ROW = "finance.settings_row"
# Built once (compiled and cache-keyed once); fresh values even when the session still holds the
# row from an earlier transaction.
_SETTINGS_ROW_READ = select(FinanceSettings).limit(1).execution_options(populate_existing=True)


async def ensure_finance(session: AsyncSession) -> str:
    """The tenant's chart template, installing the default one on first use.

    Read once per transaction: one request asks many times (the posting door, posting rules,
    receivables' settings — five times to confirm an order that is invoiced on confirmation), and
    a recorded template never changes. The answer is remembered with the innermost transaction
    (or savepoint) it was read in (``transaction_memo``), so a rolled-back installation is never
    remembered. The settings row is read whole (``FinanceSettings``): the identity map then
    answers ``session.get(FinanceSettings, 1)`` without a second statement."""
    memo = transaction_memo(session)
    template = memo.get(_TEMPLATE_READ)
    if template is not None:
        return str(template)
    settings = (await session.execute(_SETTINGS_ROW_READ)).scalar_one_or_none()
    template = settings.chart_template if settings is not None else None
    if template is None:
        tenant = context.current_tenant()
        template = await install_chart(session, default_template(tenant.locale if tenant else None))
    memo = transaction_memo(session)
    memo[_TEMPLATE_READ] = template
    memo[_SETTINGS_ROW] = settings  # held: the identity map keeps only what is referenced
    return template


async def install_chart(session: AsyncSession, template: str, *, currency: str | None = None) -> str:
    """Install ``template``'s accounts (those already present by code are kept as they are) and
    record the choice, with the books kept in ``currency`` (default: the tenant's currency). Once
    a template is recorded, it stays: returns the recorded one."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown chart template {template!r}")
    if currency is None:
        tenant = context.current_tenant()
        currency = tenant.currency if tenant else "CNY"
    await session.execute(
        insert(FinanceSettings)
        .values(id=1, chart_template=template, base_currency=currency)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    chosen = await current_template(session)
    assert chosen is not None
    accounts = TEMPLATES[chosen]
    await session.execute(
        insert(Account)
        .values(
            [
                {"code": a.code, "name": a.name, "type": a.type, "postable": a.postable, "active": True}
                for a in accounts
            ]
        )
        .on_conflict_do_nothing(index_elements=["code"])
    )
    parents = [(a.code, a.parent) for a in accounts if a.parent]
    if parents:
        parent = Account.__table__.alias("parent")
        for code, parent_code in parents:
            await session.execute(
                update(Account)
                .where(Account.code == code, Account.parent_id.is_(None))
                .values(parent_id=select(parent.c.id).where(parent.c.code == parent_code).scalar_subquery())
            )
    base = (await session.execute(select(FinanceSettings.base_currency))).scalar_one()
    await install_tax_rates(session, chosen, base)
    return chosen
