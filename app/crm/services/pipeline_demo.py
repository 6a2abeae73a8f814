"""Demo data for the pipeline (the ``acme`` demo tenant, CRM-3/6): a live pipeline and a year of
won and lost deals.

    await ensure_sales_staff(session)     # before the customers seeder: a second team to compare
    await seed_pipeline_demo(session)     # idempotent: does nothing once an opportunity exists

Built on the accounts and sales orders of the customers and sales seeders (nothing happens with
fewer than 20 accounts). Every larger confirmed, fulfilled or invoiced order of the last twelve
months was a deal: it is won on the day the order was confirmed, for the order's total, and the
order (and the quote it came from) points at it — so revenue, won amounts and campaign revenue
agree; a few deals were won this week, with the orders just confirmed for them, so "this month"
is never empty. Lost deals over the same year (with a reason), and about 130 open deals over the open
stages with close dates in the coming months, a few past due, some with the quote that is out.
Each deal has its stage history (the sales cycle and the opportunity page come from it) and
belongs to its account's owner and team. Rows are written directly with their past dates, so no
events are published. Deterministic (a fixed random seed).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import (
    Account,
    Activity,
    Contact,
    Opportunity,
    PipelineStage,
    PriceList,
    Product,
    Quote,
    SalesOrder,
    SalesOrderLine,
    StageChange,
)
from app.crm.services.calendar import tenant_today
from app.crm.services.forecast import tenant_zone
from app.crm.services.lines import apply_totals
from app.crm.services.numbering import next_number
from app.crm.services.opportunities import base_currency
from app.crm.services.sales_demo import _lines as order_lines
from app.kernel.db import utcnow
from app.security.models import Role, Team, User, UserRole
from app.security.services.teams import create_team
from app.security.services.users import create_user

# People who join the demo's sales staff before the accounts are shared out, so the performance
# pages compare reps and teams: (e-mail, name, role, team; None = the first sales rep's team).
EXTRA_SALES = [
    ("eric.wu@acme.example", "Eric Wu 吴磊", "sales_rep", None),
    ("wendy.zhang@acme.example", "Wendy Zhang 张雯", "sales_manager", "West sales"),
    ("will.liu@acme.example", "Will Liu 刘伟", "sales_rep", "West sales"),
]
OPEN_DEALS = 130
LOST_DEALS = 160
WON_FROM = Decimal("20000")  # smaller orders are repeat purchases, not deals
# (stage key, share of the open deals, days to the expected close: low, high)
OPEN_STAGES = [
    ("prospecting", 30, (45, 180)),
    ("qualification", 28, (30, 150)),
    ("needs_analysis", 26, (20, 120)),
    ("proposal", 26, (10, 90)),
    ("negotiation", 20, (3, 45)),
]
# (name, amount range, price of one unit when the name counts units)
DEALS = [
    ("A4 激光打印机更换 {n} 台", (20_000, 90_000), 2100),
    ("A3 彩色一体机 ×{n}", (15_000, 70_000), 9700),
    ("全公司打印设备外包 Managed print service", (120_000, 600_000), None),
    ("年度维保续约 Maintenance renewal", (8_000, 40_000), None),
    ("Fleet software rollout ({n} seats)", (12_000, 80_000), 1100),
    ("档案数字化扫描项目 Archive scanning", (40_000, 260_000), None),
    ("大幅面打印机 Wide-format printers ×{n}", (10_000, 45_000), 5600),
    ("Toner supply agreement {year}", (10_000, 60_000), None),
    ("新办公室设备 New office fit-out", (30_000, 150_000), None),
    ("OCR 识别升级 OCR upgrade", (8_000, 35_000), None),
]
LOST_REASONS = [
    "价格偏高 Price too high",
    "Chose a competitor",
    "预算取消 Budget withdrawn",
    "No decision — project postponed",
    "交期不满足 Delivery time",
    "Went with the incumbent supplier",
]
NOTES = [
    ("meeting", "需求沟通会 Requirements workshop", "客户 IT 与采购都参加了，明确了数量和预算。"),
    ("call", "Called about the decision date", "They decide after the board meeting."),
    ("email", "发送方案与报价 Sent the proposal", "Proposal and price sheet attached."),
    ("meeting", "Demo at the customer's office", "Printed their own samples; they liked the colour."),
    ("call", "谈判价格 Price negotiation", "对方希望再降 5%，需经理审批。"),
    ("note", "竞争对手也在报价 A competitor is quoting too", ""),
]


@dataclass(frozen=True)
class Stages:
    open: list[PipelineStage]
    won: PipelineStage
    lost: PipelineStage

    def key(self, key: str) -> PipelineStage | None:
        return next((s for s in self.open if s.key == key), None)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


async def ensure_sales_staff(session: AsyncSession) -> None:
    """Add the extra sales people (and their team) while no account has been shared out yet; the
    demo users stay as they are. Does nothing without a sales rep or once accounts exist."""
    if await session.scalar(select(func.count()).select_from(Account)):
        return
    first_rep = await session.scalar(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.key == "sales_rep", User.is_external.is_(False))
        .order_by(User.id)
        .limit(1)
    )
    if first_rep is None:
        return
    known = set((await session.execute(select(func.lower(User.email)))).scalars())
    teams = {t.name: t for t in (await session.execute(select(Team))).scalars()}
    for email, name, role, team_name in EXTRA_SALES:
        if email in known:
            continue
        team_id = first_rep.team_id
        if team_name is not None:
            if team_name not in teams:
                teams[team_name] = await create_team(session, name=team_name, manager_id=None)
                await session.flush()
            team_id = teams[team_name].id
        user = await create_user(
            session,
            email=email,
            full_name=name,
            password=secrets.token_urlsafe(24),
            role_keys=[role],
            team_id=team_id,
        )
        await session.flush()
        if role == "sales_manager" and team_name is not None and teams[team_name].manager_id is None:
            teams[team_name].manager_id = user.id
    await session.flush()


async def pipeline_stages(session: AsyncSession) -> Stages | None:
    rows = list(
        (
            await session.execute(
                select(PipelineStage)
                .where(PipelineStage.active.is_(True))
                .order_by(PipelineStage.position, PipelineStage.id)
            )
        ).scalars()
    )
    won = next((s for s in rows if s.is_won), None)
    lost = next((s for s in rows if s.is_lost), None)
    open_ = [s for s in rows if not (s.is_won or s.is_lost)]
    if won is None or lost is None or not open_:
        return None
    return Stages(open_, won, lost)


def stage_path(
    rnd: random.Random, stages: Stages, reached: PipelineStage, final: PipelineStage | None = None
) -> list[PipelineStage]:
    """The open stages a deal went through up to ``reached`` (now and then one skipped), then
    ``final`` (won or lost) if it closed."""
    upto = [s for s in stages.open if s.position <= reached.position]
    path = [upto[0]] + [s for s in upto[1:-1] if rnd.random() > 0.15] + ([upto[-1]] if len(upto) > 1 else [])
    return path + ([final] if final is not None else [])


def history(
    rnd: random.Random,
    opportunity_id: int,
    path: list[PipelineStage],
    start: datetime,
    end: datetime,
    user_id: int | None,
) -> list[StageChange]:
    """Stage changes along ``path``: the first when the deal was opened, the last at ``end``."""
    span = max((end - start).total_seconds(), 3600.0)
    moments = sorted(rnd.uniform(0.05, 0.95) * span for _ in range(len(path) - 2)) if len(path) > 2 else []
    times = [start] + [start + timedelta(seconds=s) for s in moments] + ([end] if len(path) > 1 else [])
    changes = []
    previous = None
    for stage, at in zip(path, times, strict=True):
        changes.append(
            StageChange(
                opportunity_id=opportunity_id,
                from_stage_id=previous,
                to_stage_id=stage.id,
                changed_at=at,
                user_id=user_id,
            )
        )
        previous = stage.id
    return changes


def made_up_deal(rnd: random.Random, year: int) -> tuple[str, Decimal]:
    """A deal's name and amount; a name that counts units counts as many as the amount buys."""
    template, (low, high), unit = rnd.choice(DEALS)
    amount = amount_in(rnd, low, high)
    units = max(1, round(amount / unit)) if unit else 0
    return template.format(n=units, year=year), amount


def amount_in(rnd: random.Random, low: int, high: int) -> Decimal:
    """A round figure, more often near the low end (a few big deals, many ordinary ones)."""
    value = low + (high - low) * rnd.random() ** 2
    step = 500 if value < 50_000 else 1000
    return Decimal(int(value // step * step))


async def seed_pipeline_demo(session: AsyncSession) -> None:
    if await session.scalar(select(func.count()).select_from(Opportunity)):
        return
    accounts = list(
        (
            await session.execute(
                select(Account)
                .where(Account.merged_into_id.is_(None), Account.archived_at.is_(None))
                .order_by(Account.id)
            )
        )
        .scalars()
        .all()
    )
    stages = await pipeline_stages(session)
    if len(accounts) < 20 or stages is None:
        return
    rnd = random.Random(2028)  # noqa: S311 — made-up demo figures, not secrets
    contacts = await primary_contacts(session)
    await _won(session, rnd, stages, contacts)
    owned = [a for a in accounts if a.owner_id is not None] or accounts
    await _this_month(session, rnd, stages, [a for a in owned if a.lifecycle_stage == "customer"], contacts)
    await _lost(session, rnd, stages, owned, contacts)
    await _open(session, rnd, stages, owned, contacts)
    await session.flush()


async def primary_contacts(session: AsyncSession) -> dict[int, int]:
    """Account id → its primary (else first) live contact's id."""
    rows = await session.execute(
        select(Contact.account_id, Contact.id)
        .where(Contact.archived_at.is_(None))
        .order_by(Contact.account_id, Contact.is_primary.desc(), Contact.id)
    )
    out: dict[int, int] = {}
    for account_id, contact_id in rows.all():
        out.setdefault(account_id, contact_id)
    return out


async def _won(session: AsyncSession, rnd: random.Random, stages: Stages, contacts: dict[int, int]) -> None:
    """A won deal behind every larger order of an account manager confirmed in the last year."""
    since = tenant_today() - timedelta(days=365)
    orders = list(
        (
            await session.execute(
                select(SalesOrder)
                .where(
                    SalesOrder.status.in_(("confirmed", "fulfilled", "invoiced")),
                    SalesOrder.order_date >= since,
                    SalesOrder.total >= WON_FROM,
                    SalesOrder.owner_id.is_not(None),
                    SalesOrder.opportunity_id.is_(None),
                    SalesOrder.confirmed_at.is_not(None),
                )
                .order_by(SalesOrder.order_date, SalesOrder.id)
            )
        ).scalars()
    )
    titles = await _first_lines(session, [o.id for o in orders])
    for order in orders:
        await _win(session, rnd, stages, contacts, order, titles.get(order.id, order.number))


async def _win(
    session: AsyncSession,
    rnd: random.Random,
    stages: Stages,
    contacts: dict[int, int],
    order: SalesOrder,
    name: str,
) -> None:
    """The deal behind ``order``: won when the order was confirmed, for its total."""
    assert order.confirmed_at is not None
    won_at = order.confirmed_at
    opened = won_at - timedelta(days=rnd.randint(14, 110), hours=rnd.randint(0, 8))
    reached = rnd.choice(stages.open[-2:])
    deal = Opportunity(
        name=name,
        account_id=order.account_id,
        contact_id=order.contact_id or contacts.get(order.account_id),
        stage_id=stages.won.id,
        amount=order.total,
        currency=order.currency,
        probability=100,
        expected_close_date=order.order_date,
        source=rnd.choice(["referral", "web", "fair", "existing customer", "existing customer"]),
        closed_at=won_at,
        stage_changed_at=won_at,
        owner_id=order.owner_id,
        team_id=order.team_id,
        created_at=opened,
        updated_at=won_at,
    )
    session.add(deal)
    await session.flush()
    path = stage_path(rnd, stages, reached, stages.won)
    session.add_all(history(rnd, deal.id, path, opened, won_at, order.owner_id))
    await session.execute(
        update(SalesOrder)
        .where(SalesOrder.id == order.id)
        .values(opportunity_id=deal.id, updated_at=SalesOrder.updated_at)
    )
    if order.quote_id is not None:
        await session.execute(
            update(Quote)
            .where(Quote.id == order.quote_id)
            .values(opportunity_id=deal.id, updated_at=Quote.updated_at)
        )


def this_week(now: datetime) -> datetime:
    """The start of "lately": six days back, but never before the month began (tenant's zone)."""
    zone = ZoneInfo(tenant_zone())
    month_start = datetime.combine(now.astimezone(zone).date().replace(day=1), time.min, tzinfo=zone)
    return max(month_start, now - timedelta(days=6))


async def _this_month(
    session: AsyncSession,
    rnd: random.Random,
    stages: Stages,
    accounts: list[Account],
    contacts: dict[int, int],
) -> None:
    """Each account manager's latest deals, won and lost this week (at most since the month began),
    the won ones with the orders just confirmed for them — so "this month" is never empty and
    nobody's win rate is a flat 100 %."""
    now = utcnow()
    earliest = this_week(now)
    by_owner: dict[int | None, list[Account]] = {}
    for a in accounts:
        by_owner.setdefault(a.owner_id, []).append(a)
    plan = []
    for owner in sorted(by_owner, key=lambda o: o or 0):
        mine = by_owner[owner]
        plan += [(True, rnd.choice(mine)) for _ in range(rnd.choice([1, 1, 2]))]
        plan += [(False, rnd.choice(mine)) for _ in range(rnd.choice([1, 1, 2]))]
    for won, account in plan:
        at = earliest + (now - earliest) * rnd.uniform(0.05, 0.95)
        if won:
            await recent_win(session, rnd, stages, account, contacts, at)
        else:
            await _lose(session, rnd, stages, account, contacts, at)


async def recent_win(
    session: AsyncSession,
    rnd: random.Random,
    stages: Stages,
    account: Account,
    contacts: dict[int, int],
    won_at: datetime,
) -> SalesOrder | None:
    """A deal won at ``won_at`` with the order just confirmed for it (priced like the sales
    seeder's); None without the demo catalogue."""
    catalogue = {
        p.sku: p for p in (await session.execute(select(Product).where(Product.active.is_(True)))).scalars()
    }
    try:
        lines = order_lines(rnd, catalogue)
    except (KeyError, IndexError):  # no catalogue, or one of the tenant's own
        return None
    dealer = await session.scalar(select(PriceList.id).where(PriceList.currency == base_currency()).limit(1))
    day = won_at.astimezone(ZoneInfo(tenant_zone())).date()
    order = SalesOrder(
        number=await next_number(session, "sales_order", day.year),
        account_id=account.id,
        contact_id=contacts.get(account.id),
        status="confirmed",
        currency=base_currency(),
        order_date=day,
        price_list_id=dealer,
        requested_delivery_date=day + timedelta(days=14),
        shipping_address=account.address,
        owner_id=account.owner_id,
        team_id=account.team_id,
        confirmed_at=won_at,
        created_at=won_at - timedelta(hours=1),
        updated_at=won_at,
    )
    session.add(order)
    await session.flush()
    rows = [SalesOrderLine(order_id=order.id, **v) for v in lines]
    session.add_all(rows)
    apply_totals(order, rows)
    await session.flush()
    first = rows[0]
    name = f"{first.description} ×{first.quantity.normalize():f}"[:200]
    await _win(session, rnd, stages, contacts, order, name)
    return order


async def _first_lines(session: AsyncSession, order_ids: list[int]) -> dict[int, str]:
    """A deal's name from its order: the first line's product and quantity."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(SalesOrderLine.order_id, SalesOrderLine.description, SalesOrderLine.quantity).where(
            SalesOrderLine.order_id.in_(order_ids), SalesOrderLine.position == 1
        )
    )
    return {oid: f"{desc} ×{quantity.normalize():f}"[:200] for oid, desc, quantity in rows.all()}


async def _lost(
    session: AsyncSession,
    rnd: random.Random,
    stages: Stages,
    accounts: list[Account],
    contacts: dict[int, int],
) -> None:
    now = utcnow()
    for _ in range(LOST_DEALS):
        lost_at = now - timedelta(days=rnd.randint(1, 364), hours=rnd.randint(0, 10))
        await _lose(session, rnd, stages, rnd.choice(accounts), contacts, lost_at)


async def _lose(
    session: AsyncSession,
    rnd: random.Random,
    stages: Stages,
    account: Account,
    contacts: dict[int, int],
    lost_at: datetime,
) -> None:
    """A deal lost at ``lost_at``, with its reason and the stages it got through."""
    opened = lost_at - timedelta(days=rnd.randint(10, 120))
    name, amount = made_up_deal(rnd, lost_at.year)
    reached = rnd.choice(stages.open)
    deal = Opportunity(
        name=name,
        account_id=account.id,
        contact_id=contacts.get(account.id),
        stage_id=stages.lost.id,
        amount=amount,
        currency=base_currency(),
        probability=0,
        expected_close_date=(lost_at + timedelta(days=rnd.randint(-10, 40))).date(),
        source=rnd.choice(["referral", "web", "fair", "cold call"]),
        lost_reason=rnd.choice(LOST_REASONS),
        closed_at=lost_at,
        stage_changed_at=lost_at,
        owner_id=account.owner_id,
        team_id=account.team_id,
        created_at=opened,
        updated_at=lost_at,
    )
    session.add(deal)
    await session.flush()
    path = stage_path(rnd, stages, reached, stages.lost)
    session.add_all(history(rnd, deal.id, path, opened, lost_at, account.owner_id))


async def _open(
    session: AsyncSession,
    rnd: random.Random,
    stages: Stages,
    accounts: list[Account],
    contacts: dict[int, int],
) -> None:
    now = utcnow()
    today = tenant_today()
    weights = [(stages.key(k), share, days) for k, share, days in OPEN_STAGES]
    plan = [(s, days) for s, share, days in weights if s is not None for _ in range(share)]
    if not plan:  # a tenant with stages of its own
        plan = [(s, (10, 120)) for s in stages.open for _ in range(OPEN_DEALS // len(stages.open))]
    quotes = await _open_quotes(session)
    position: dict[int, float] = {}
    for n, (stage, (soon, late)) in enumerate(plan[:OPEN_DEALS]):
        account = rnd.choice(accounts)
        name, amount = made_up_deal(rnd, today.year + 1)
        opened = now - timedelta(days=rnd.randint(5, 150), hours=rnd.randint(0, 9))
        path = stage_path(rnd, stages, stage)
        # The last move is when it entered its stage (a deal still in the first never moved).
        moved = opened + (now - opened) * rnd.uniform(0.3, 0.95) if len(path) > 1 else opened
        close = today + timedelta(days=soon + int((late - soon) * rnd.random() ** 1.6))  # mostly soon
        if n % 23 == 5:  # a few slipped past their date and wait for the rep
            close = today - timedelta(days=rnd.randint(3, 25))
        probability = stage.probability
        if stage.key == "negotiation" and rnd.random() < 0.3:
            probability = rnd.choice([70, 90])
        position[stage.id] = position.get(stage.id, 0.0) + 1024.0
        deal = Opportunity(
            name=name,
            account_id=account.id,
            contact_id=contacts.get(account.id),
            stage_id=stage.id,
            amount=amount,
            currency=base_currency(),
            probability=probability,
            expected_close_date=close,
            source=rnd.choice(["referral", "web", "fair", "cold call", "existing customer"]),
            stage_changed_at=moved,
            board_position=position[stage.id],
            owner_id=account.owner_id,
            team_id=account.team_id,
            created_at=opened,
            updated_at=moved,
        )
        session.add(deal)
        await session.flush()
        session.add_all(history(rnd, deal.id, path, opened, moved, account.owner_id))
        for _ in range(rnd.choice([0, 1, 1, 2, 3])):
            kind, subject, body = rnd.choice(NOTES)
            when = opened + (now - opened) * rnd.random()
            session.add(
                Activity(
                    kind=kind,
                    subject=subject,
                    body=body,
                    direction="out" if kind in ("call", "email") else None,
                    occurred_at=when,
                    account_id=account.id,
                    contact_id=contacts.get(account.id),
                    opportunity_id=deal.id,
                    user_id=account.owner_id,
                    created_at=when,
                )
            )
        quote = quotes.get(account.id)
        if quote is not None and stage.key in ("proposal", "negotiation"):
            await session.execute(
                update(Quote)
                .where(Quote.id == quote)
                .values(opportunity_id=deal.id, updated_at=Quote.updated_at)
            )
            del quotes[account.id]


async def _open_quotes(session: AsyncSession) -> dict[int, int]:
    """Account id → a quote that is out (sent or accepted) and belongs to no deal yet."""
    rows = await session.execute(
        select(Quote.account_id, Quote.id)
        .where(Quote.status.in_(("sent", "accepted")), Quote.opportunity_id.is_(None))
        .order_by(Quote.id)
    )
    out: dict[int, int] = {}
    for account_id, quote_id in rows.all():
        out.setdefault(account_id, quote_id)
    return out
