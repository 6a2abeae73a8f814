"""sales: periodic tasks (@periodic), each acting on state so a second run does nothing new.

* ``crm.collection_reminders`` (daily): the owner of each active contract hears once about each
  instalment due within 3 days, and once when it is overdue (COLLECTION_DUE).
* ``crm.quote_expiry`` (daily): sent quotes past their validity date become "expired".
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Quote
from app.crm.notifications import COLLECTION_DUE
from app.crm.services.calendar import tenant_today
from app.crm.services.collections import open_amount, reminders_due
from app.kernel import context, i18n
from app.kernel.audit import audited
from app.kernel.periodic import periodic
from app.notifications.interface import notify
from app.security.models import User


@periodic("crm.collection_reminders", every=timedelta(days=1))
async def collection_reminders(session: AsyncSession) -> dict[str, int]:
    return await send_collection_reminders(session, tenant_today())


@periodic("crm.quote_expiry", every=timedelta(days=1))
async def quote_expiry(session: AsyncSession) -> int:
    return await expire_quotes(session, tenant_today())


async def send_collection_reminders(session: AsyncSession, today: date) -> dict[str, int]:
    """Notify each owner once per instalment and kind; returns how many of each kind went out."""
    tenant = context.current_tenant()
    sent = {"due": 0, "overdue": 0}
    rows = (await session.execute(reminders_due(today))).all()
    locales: dict[int, str] = {}
    async with audited(session, "crm.collection_reminders_sent"):
        for instalment, contract, account_name in rows:
            owner_id = contract.owner_id
            assert owner_id is not None  # reminders_due only selects owned contracts
            if owner_id not in locales:
                owner = await session.get(User, owner_id)
                locales[owner_id] = (owner.locale if owner else None) or (tenant.locale if tenant else "en")
            overdue = instalment.due_date < today
            with i18n.use_locale(locales[owner_id]):
                params = {
                    "number": contract.number,
                    "account": account_name,
                    "amount": i18n.format_money(open_amount(instalment), contract.currency),
                    "date": i18n.format_date(instalment.due_date),
                }
                if overdue:
                    title = i18n.gettext("Overdue since {date}: {amount} from {account} ({number})", **params)
                else:
                    title = i18n.gettext("Due on {date}: {amount} from {account} ({number})", **params)
                body = i18n.gettext(
                    "Contract {number}: {title}", number=contract.number, title=contract.title
                )
            await notify(
                session,
                owner_id,
                COLLECTION_DUE,
                title=title,
                body=body,
                link=f"/sales/contracts/{contract.id}",
            )
            if overdue:
                instalment.overdue_reminder_sent_on = today
                sent["overdue"] += 1
            else:
                instalment.due_reminder_sent_on = today
                sent["due"] += 1
    return sent


async def expire_quotes(session: AsyncSession, today: date) -> int:
    """Sent quotes whose validity ended before ``today`` become "expired"; returns how many."""
    stmt = (
        select(Quote)
        .where(Quote.status == "sent", Quote.valid_until < today)
        .with_for_update(skip_locked=True)
    )
    quotes = list((await session.execute(stmt)).scalars())
    async with audited(session, "crm.quote_expired"):  # one audit row per quote, like a person's change
        for quote in quotes:
            quote.status = "expired"
    return len(quotes)
