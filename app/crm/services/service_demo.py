"""Demo data for service (the ``acme`` demo tenant, CRM-10/11): three months of tickets.

    await seed_service_demo(session)     # idempotent: does nothing once a ticket exists

Built on the accounts and contacts the customers seeder created (nothing happens with fewer than
20 accounts) and the service agents of the demo (two more join the first agent's team so the
satisfaction page has people to compare). Closed tickets from the last 90 days with their
conversations, repair records and answered surveys; and today's queue — new, open, pending and
resolved tickets, some past their SLA (flagged and escalated as the scheduler would have), some
due within the hour. Deadlines come from the SLA policies exactly as for real tickets. Rows are
written directly with their past dates, so no events are published and nobody is notified of
history. Deterministic.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import (
    Account,
    Contact,
    Product,
    ServicePart,
    ServiceRecord,
    SlaPolicy,
    Survey,
    Ticket,
    TicketMessage,
)
from app.crm.services.fields import cents
from app.crm.services.numbering import next_number
from app.crm.services.sla import deadlines
from app.crm.services.surveys import survey_token
from app.crm.services.ticket_assignment import service_agents
from app.crm.services.tickets import new_message_id
from app.kernel.db import utcnow
from app.security.services.users import create_user

EXTRA_AGENTS = [("tina.guo@acme.example", "Tina Guo 郭婷"), ("leo.fang@acme.example", "Leo Fang 方磊")]
# (subject, category, what the customer wrote, the agent's answer)
ISSUES = [
    (
        "A2 打印机卡纸 Paper jams on the A2 printer",
        "Repair",
        "每打印两张就卡纸，错误代码 E07。",
        "已安排工程师上门更换定影器。",
    ),
    (
        "扫描仪无法连接网络 Scanner drops off the network",
        "Repair",
        "The scanner loses its IP address every morning.",
        "Please set a fixed IP; I have sent the steps by e-mail.",
    ),
    (
        "发票税率错误 Wrong VAT rate on the invoice",
        "Billing",
        "发票上的税率是 6%，应为 13%。",
        "已核实，红字发票和新发票今天寄出。",
    ),
    (
        "碳粉盒破损 Toner cartridge arrived damaged",
        "Delivery",
        "Two of the ten boxes were crushed.",
        "Replacements ship today, no need to return the damaged ones.",
    ),
    (
        "申请操作培训 Training for new staff",
        "Training",
        "我们新来了三位同事，想安排一次培训。",
        "培训定在下周三上午，地址已确认。",
    ),
    (
        "驱动程序不兼容 Driver does not install on macOS 15",
        "Software",
        "The installer stops at 80 %.",
        "Version 4.2 of the driver fixes it; link attached.",
    ),
    (
        "维保合同续签 Renewing the maintenance contract",
        "Contract",
        "合同下月到期，请报价。",
        "续约报价已发您邮箱，价格与去年一致。",
    ),
    (
        "彩色打印偏色 Colour prints look green",
        "Repair",
        "All colour prints have a green cast since Monday.",
        "A calibration run fixed it remotely; please check.",
    ),
]
CUSTOMER_REPLIES = [
    "好的，谢谢！",
    "Thanks, that worked.",
    "还是不行，请再看一下。",
    "Could someone call me?",
]
# What customers write, by how they scored (CSAT 4–5, else).
PRAISE = ["师傅很专业，问题一次解决。", "Quick and friendly.", "服务态度很好。", ""]
GRIPES = ["等了三天才有回复。", "Solved, but it took a while.", "第二次上门才修好。", ""]
# Per agent: how their customers tend to score them (CSAT choices, NPS choices).
SCORES = [
    ([5, 5, 4, 4, 5, 3], [10, 9, 9, 8, 10, 7]),
    ([4, 3, 5, 4, 2, 4], [8, 6, 9, 7, 3, 8]),
    ([5, 4, 4, 3, 5, 4], [9, 8, 10, 6, 9, 7]),
]


async def seed_service_demo(session: AsyncSession) -> None:
    if await session.scalar(select(func.count()).select_from(Ticket)):
        return
    accounts = list(
        (
            await session.execute(
                select(Account).where(Account.merged_into_id.is_(None)).order_by(Account.id).limit(80)
            )
        )
        .scalars()
        .all()
    )
    if len(accounts) < 20:
        return
    agents = await _agents(session)
    if not agents:
        return
    contacts = await _contacts(session, [a.id for a in accounts])
    policies = {p.priority: p for p in (await session.execute(select(SlaPolicy))).scalars() if p.active}
    products = list(
        (await session.execute(select(Product).where(Product.active.is_(True)).limit(20))).scalars()
    )
    rnd = random.Random(1011)  # noqa: S311 — made-up demo figures, not secrets
    now = utcnow()
    plan = [("closed", rnd.randint(2, 90) * 24 * 60) for _ in range(110)]
    plan += [("resolved", rnd.randint(1, 5) * 24 * 60) for _ in range(8)]
    plan += [("pending", rnd.randint(6, 72) * 60) for _ in range(7)]
    plan += [("open", rnd.randint(2, 30) * 60) for _ in range(9)]
    plan += [("new", minutes) for minutes in (5, 20, 45, 200, 260, 400, 1500)]
    for status, minutes_ago in sorted(plan, key=lambda p: -p[1]):
        account = rnd.choice(accounts)
        await _ticket(
            session,
            rnd,
            now,
            now - timedelta(minutes=minutes_ago),
            status,
            account,
            contacts.get(account.id),
            agents,
            policies,
            products,
        )
    await session.flush()


async def _agents(session: AsyncSession) -> dict[int, int | None]:
    """Up to three agents, each with their team."""
    agents = await service_agents(session)
    if agents and len(agents) < 3:
        team = agents[0].team_id
        known = {a.email for a in agents}
        for email, name in EXTRA_AGENTS:
            if email not in known:
                user = await create_user(
                    session,
                    email=email,
                    full_name=name,
                    password=secrets.token_urlsafe(24),
                    role_keys=["service_agent"],
                    team_id=team,
                )
                agents.append(user)
    return {a.id: a.team_id for a in agents[:3]}


async def _contacts(session: AsyncSession, account_ids: list[int]) -> dict[int, Contact]:
    rows = await session.execute(
        select(Contact)
        .where(Contact.account_id.in_(account_ids), Contact.archived_at.is_(None))
        .order_by(Contact.id)
    )
    out: dict[int, Contact] = {}
    for contact in rows.scalars():
        out.setdefault(contact.account_id, contact)
    return out


async def _ticket(
    session: AsyncSession,
    rnd: random.Random,
    now: datetime,
    opened: datetime,
    status: str,
    account: Account,
    contact: Contact | None,
    agents: dict[int, int | None],
    policies: dict[str, SlaPolicy],
    products: list[Product],
) -> None:
    subject, category, problem, answer = rnd.choice(ISSUES)
    priority = rnd.choice(["low", "normal", "normal", "normal", "high", "high", "urgent"])
    policy = policies.get(priority)
    first_due, resolution_due = deadlines(opened, policy)
    agent_index = rnd.randrange(len(agents))
    owner = None if status == "new" and rnd.random() < 0.4 else list(agents)[agent_index]
    team = agents[owner] if owner is not None else next(iter(agents.values()))
    answered = None
    if status != "new":
        # Mostly inside the target, now and then late (the flags below follow from the times).
        minutes = (policy.first_response_minutes if policy else 240) * rnd.choice([0.2, 0.4, 0.6, 0.8, 1.3])
        answered = min(opened + timedelta(minutes=minutes), now - timedelta(minutes=1))
    resolved = None
    if status in ("resolved", "closed"):
        minutes = (policy.resolution_minutes if policy else 1440) * rnd.choice([0.3, 0.5, 0.7, 0.9, 1.4])
        resolved = min(opened + timedelta(minutes=minutes), now - timedelta(hours=2))
        resolved = max(resolved, (answered or opened) + timedelta(minutes=5))
    response_breached = bool(first_due and ((answered or now) > first_due))
    resolution_breached = bool(resolution_due and ((resolved or now) > resolution_due))
    email = contact.email if contact else None
    escalated = first_due if response_breached else (resolution_due if resolution_breached else None)
    closed = resolved + timedelta(days=2) if status == "closed" and resolved is not None else None
    ticket = Ticket(
        number=await next_number(session, "ticket", opened.year),
        subject=subject,
        description=problem,
        account_id=account.id,
        contact_id=contact.id if contact else None,
        requester_email=None if email else f"service@{account.id}.customer.example",
        channel=rnd.choice(["email", "email", "customer_portal", "phone", "agent"]),
        category=category,
        priority=priority,
        status=status,
        sla_policy_id=policy.id if policy else None,
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
        first_responded_at=answered,
        resolved_at=resolved,
        closed_at=min(closed, now - timedelta(minutes=30)) if closed else None,
        response_breached=response_breached,
        resolution_breached=resolution_breached,
        escalation_level=int(response_breached) + int(resolution_breached),
        escalated_at=escalated,
        owner_id=owner,
        team_id=team,
        email_thread_id=new_message_id("ticket"),
        created_at=opened,
        updated_at=opened,
    )
    session.add(ticket)
    await session.flush()
    await _conversation(session, rnd, ticket, owner, answer, answered, resolved, status)
    if category == "Repair" and resolved is not None and rnd.random() < 0.7:
        await _repair(session, rnd, ticket, owner, resolved, products)
    if status == "closed":
        _survey(session, rnd, now, ticket, agent_index, email)
    ticket.updated_at = ticket.closed_at or resolved or answered or opened


async def _conversation(
    session: AsyncSession,
    rnd: random.Random,
    ticket: Ticket,
    owner: int | None,
    answer: str,
    answered: datetime | None,
    resolved: datetime | None,
    status: str,
) -> None:
    if answered is None:
        return
    if rnd.random() < 0.3:
        session.add(
            TicketMessage(
                ticket_id=ticket.id,
                author_kind="agent",
                author_user_id=owner,
                is_internal=True,
                body="已查看设备日志。 Checked the device log.",
                created_at=answered - timedelta(minutes=3),
            )
        )
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            author_kind="agent",
            author_user_id=owner,
            body=answer,
            is_internal=False,
            email_message_id=new_message_id("reply"),
            created_at=answered,
        )
    )
    if status in ("open", "resolved", "closed") and rnd.random() < 0.6:
        later = (resolved or answered + timedelta(hours=2)) - timedelta(minutes=1)
        session.add(
            TicketMessage(
                ticket_id=ticket.id,
                author_kind="customer",
                author_email=None,
                body=rnd.choice(CUSTOMER_REPLIES),
                is_internal=False,
                created_at=max(later, answered),
            )
        )


async def _repair(
    session: AsyncSession,
    rnd: random.Random,
    ticket: Ticket,
    technician: int | None,
    at: datetime,
    products: list[Product],
) -> None:
    """A repair record priced with the one rounding rule (cents per line)."""
    hours, rate = Decimal(rnd.choice(["0.5", "1", "1.5", "2", "3"])), Decimal("180")
    used = [
        (p, Decimal(rnd.randint(1, 3))) for p in rnd.sample(products, k=min(len(products), rnd.randint(0, 2)))
    ]
    labour = cents(hours * rate)
    parts_total = sum((cents(q * p.list_price) for p, q in used), Decimal("0"))
    record = ServiceRecord(
        ticket_id=ticket.id,
        summary="上门维修 On-site repair",
        performed_at=at - timedelta(hours=1),
        work_done="Replaced the worn parts and ran a test print.",
        technician_id=technician,
        labour_hours=hours,
        labour_rate=rate,
        labour_total=labour,
        parts_total=parts_total,
        total=labour + parts_total,
    )
    session.add(record)
    await session.flush()
    session.add_all(
        ServicePart(
            record_id=record.id,
            product_id=p.id,
            description=f"{p.sku} {p.name}"[:200],
            quantity=q,
            unit_cost=p.list_price,
            amount=cents(q * p.list_price),
        )
        for p, q in used
    )


def _survey(
    session: AsyncSession,
    rnd: random.Random,
    now: datetime,
    ticket: Ticket,
    agent_index: int,
    email: str | None,
) -> None:
    csats, npss = SCORES[agent_index % len(SCORES)]
    answered = rnd.random() < 0.65
    csat = rnd.choice(csats) if answered else None
    # A happy customer tends to recommend, an unhappy one not (the scores agree with each other).
    likely = [n for n in npss if (n >= 7) == ((csat or 0) >= 4)] or npss
    nps = rnd.choice(likely) if answered else None
    sent = ticket.closed_at or now
    session.add(
        Survey(
            ticket_id=ticket.id,
            account_id=ticket.account_id,
            contact_id=ticket.contact_id,
            email=email or ticket.requester_email,
            token=survey_token(f"demo-{ticket.number}"),
            sent_at=sent,
            owner_id=ticket.owner_id,
            team_id=ticket.team_id,
            created_at=sent,
            answered_at=min(sent + timedelta(hours=rnd.randint(1, 40)), now) if answered else None,
            csat=csat,
            nps=nps,
            comment=rnd.choice(PRAISE if (csat or 0) >= 4 else GRIPES) if answered else "",
        )
    )


# The same agents and the same kind of ticket for the other demo steps (portal_demo.py).
demo_agents = _agents
demo_ticket = _ticket
