"""The notifications service work sends (PLAT-7 kinds in app/crm/notifications.py), written in
each recipient's language, and who hears about an escalation.

    await tell(session, ticket.owner_id, TICKET_ASSIGNED, lazy("{number} is assigned to you: {subject}"),
               ticket, actor_id=principal.id)
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Ticket
from app.kernel import context, i18n
from app.notifications.interface import notify
from app.security.models import Role, Team, User, UserRole


async def customer_locale(session: AsyncSession, account_id: int | None, contact_id: int | None) -> str:
    """The language to write to a customer in: their portal sign-in's, else the account's
    preferred language (preferences "language"), else the organisation's."""
    if contact_id is not None:
        locale = await session.scalar(
            select(User.locale)
            .join(Contact, Contact.portal_user_id == User.id)
            .where(Contact.id == contact_id)
        )
        if locale in i18n.LOCALES:
            return str(locale)
    if account_id is not None:
        prefs = await session.scalar(select(Account.preferences).where(Account.id == account_id))
        chosen = i18n.normalize_locale(str((prefs or {}).get("language") or ""))
        if chosen is not None:
            return chosen
    tenant = context.current_tenant()
    return tenant.locale if tenant else i18n.DEFAULT_LOCALE


def ticket_link(ticket: Ticket) -> str:
    return f"/service/tickets/{ticket.id}"


async def tell(
    session: AsyncSession,
    user_id: int | None,
    kind: str,
    title: str,
    ticket: Ticket,
    *,
    actor_id: int | None = None,
    body: str = "",
    **params: object,
) -> None:
    """Notify ``user_id`` about ``ticket`` (nobody when None, and never the person who acted)."""
    if user_id is None or user_id == actor_id:
        return
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return
    tenant = context.current_tenant()
    with i18n.use_locale(user.locale or (tenant.locale if tenant else None)):
        text = i18n.gettext(title, number=ticket.number, subject=ticket.subject, **params)
    await notify(session, user_id, kind, title=text, body=body[:2000], link=ticket_link(ticket))


async def escalation_recipients(session: AsyncSession, team_id: int | None) -> list[int]:
    """The team's manager; the tenant's active administrators when the team has none."""
    if team_id is not None:
        manager_id = await session.scalar(
            select(Team.manager_id)
            .join(User, User.id == Team.manager_id)
            .where(Team.id == team_id, User.is_active.is_(True))
        )
        if manager_id is not None:
            return [int(manager_id)]
    rows = await session.execute(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.key == "tenant_admin", Role.is_builtin.is_(True), User.is_active.is_(True))
        .order_by(User.id)
    )
    return list(dict.fromkeys(rows.scalars()))
