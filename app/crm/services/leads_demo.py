"""Demo data for leads (the ``acme`` demo tenant, CRM-2): eight months of leads from every source.

    await seed_leads_demo(session)     # idempotent: does nothing once a lead exists

Built on the accounts and the pipeline of the customers and pipeline seeders (nothing happens
with fewer than 20 accounts): three assignment rules (East China, South China, lists, partners
and fairs from anywhere) with two web forms, and about 420 leads — web forms, imports, the
API, referrals, trade fairs (the Canton Fair among them), an e-mail campaign, the inbox and the
hotline — routed to the sales staff by those rules in the order they arrived (web-form leads
from elsewhere wait unassigned for a manager), in the status their age makes likely, with the
calls, e-mails and notes logged on them. Converted leads became what conversion makes: a new
account with its primary contact, or a new contact at an existing account, and most of them an
opportunity with its stage history. A few new leads share an e-mail address with a known
contact, so the lead page warns of the duplicate. Rows are written directly with their past
dates, so nobody is notified of history and no events are published. Deterministic.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Activity, AssignmentRule, Contact, Lead, Opportunity, WebForm
from app.crm.services.calendar import tenant_today
from app.crm.services.customers_demo import (
    CITIES,
    GIVEN,
    SURNAMES,
    TITLES,
    TRADES,
    WESTERN_CITIES,
    sales_staff,
)
from app.crm.services.lead_assignment import Router
from app.crm.services.opportunities import base_currency
from app.crm.services.pipeline_demo import (
    Stages,
    history,
    made_up_deal,
    pipeline_stages,
    stage_path,
)
from app.kernel.db import utcnow
from app.security.models import User

LEADS = 420
DAYS = 240
FAIR = "Canton Fair booth"  # the marketing seeder's event campaign (attributed by this detail)
LAUNCH = "New season launch"  # … and its e-mail campaign
THANKS = "感谢您的咨询，我们会在一个工作日内联系您。Thank you — we will call you within one working day."
WEB_FORMS = [("官网询价表 Website enquiry", "web-enquiry"), ("Free trial request 免费试用", "trial")]
# (source, weight, details to choose from)
SOURCES = [
    ("web_form", 30, [f[0] for f in WEB_FORMS]),
    (
        "import",
        14,
        ["2026 上海印刷展名单.csv", "partner-leads-q3.csv", "Purchased list — Jiangsu schools.csv"],
    ),
    ("api", 10, ["微信小程序 WeChat mini-program", "Tmall store 天猫旗舰店"]),
    ("referral", 12, []),  # referred by an existing account
    ("event", 14, ["上海国际印刷展 Print China", "Education equipment fair 教育装备展"]),
    ("campaign", 6, ["双十一 11.11 promotion", "Spring webinar 春季线上研讨会"]),
    ("email", 7, ["sales@acme.example"]),
    ("phone", 5, ["400 hotline 热线"]),
    ("manual", 2, [""]),
]
LEAD_WORDS = [
    "鼎新",
    "聚源",
    "润泽",
    "启航",
    "德信",
    "盛世",
    "万象",
    "远景",
    "云帆",
    "正阳",
    "锦程",
    "立信",
    "凯达",
    "华美",
    "益丰",
    "同创",
]
LEAD_FORMS = ["有限公司", "股份有限公司", "工作室", "学校", "医院"]
WESTERN_PEOPLE = [
    ("Anna", "Müller"),
    ("James", "Carter"),
    ("Sofia", "Rossi"),
    ("Lukas", "Novak"),
    ("Priya", "Nair"),
    ("Tom", "Becker"),
    ("Emma", "Dubois"),
    ("Kenji", "Sato"),
]
WESTERN_COMPANIES = [
    "Harbor Print Works",
    "Nordic Office Group",
    "Sunrise Academy",
    "Meridian Clinics",
    "Alpine Dental Care",
    "Cobalt Design Studio",
    "Lighthouse Learning",
    "Pacific Rim Traders",
]
MESSAGES = [
    "想了解 A3 彩色一体机的价格，大约需要 5 台。",
    "Do you offer a leasing plan for 20 laser printers?",
    "学校图书馆需要一台书刊扫描仪，请联系我。",
    "We are opening a new office in Q1 and need printers, scanners and a service contract.",
    "请发一份碳粉和纸张的年度供货报价。",
    "Interested in the fleet management software — is there a trial?",
    "现有打印机经常卡纸，考虑整体更换。",
    "",
]
DISQUALIFIED = [
    "无预算 No budget",
    "Student asking for a school project",
    "竞争对手询价 A competitor",
    "Outside our delivery area",
    "重复线索 Duplicate of an existing lead",
    "No reply after three attempts",
]
LEAD_NOTES = [
    ("call", "首次电话沟通 First call", "客户确认了需求，约了下周拜访。", "out"),
    ("email", "Sent the brochure and price list", "", "out"),
    ("call", "No answer — left a voicemail", "", "out"),
    ("email", "客户回复询价 Customer replied", "希望报价含安装。", "in"),
    ("meeting", "Visited the office", "Five departments, about 40 users.", None),
    ("note", "预算约 5 万元 Budget about ¥50,000", "", None),
]


def _weighted_sources(rnd: random.Random) -> list[tuple[str, list[str]]]:
    return [(source, details) for source, weight, details in SOURCES for _ in range(weight)]


def _status(rnd: random.Random, age_days: int) -> str:
    """What usually became of a lead of this age."""
    roll = rnd.random()
    if age_days < 7:
        return "new" if roll < 0.6 else "contacted" if roll < 0.95 else "disqualified"
    if age_days < 30:
        table = [("new", 0.15), ("contacted", 0.55), ("qualified", 0.75), ("disqualified", 0.88)]
    else:
        table = [("new", 0.03), ("contacted", 0.2), ("qualified", 0.42), ("disqualified", 0.8)]
    return next((status for status, upto in table if roll < upto), "converted")


SCORES = {
    "new": (5, 40),
    "contacted": (20, 60),
    "qualified": (55, 95),
    "disqualified": (0, 30),
    "converted": (60, 100),
}


async def seed_leads_demo(session: AsyncSession) -> None:
    if await session.scalar(select(func.count()).select_from(Lead)):
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
    if len(accounts) < 20:
        return
    rnd = random.Random(2029)  # noqa: S311 — made-up demo people, not secrets
    staff = await sales_staff(session)
    await _rules(session, staff)
    forms = await _web_forms(session, rnd)
    stages = await pipeline_stages(session)
    router = Router(session)
    now = utcnow()
    today = tenant_today()
    sources = _weighted_sources(rnd)
    companies: set[str] = {a.name for a in accounts}
    plan = sorted(_moments(rnd, now, today), key=lambda p: p[0])
    known = await _known_contacts(session, rnd)
    for n, (created, forced) in enumerate(plan):
        source, details = forced or rnd.choice(sources)
        detail = rnd.choice(details) if details else _referrer(rnd, accounts)
        lead = _lead(rnd, n, created, source, detail, companies)
        if n in known:  # someone already on file writes in again
            contact, account = known[n]
            lead.full_name, lead.first_name, lead.last_name = (
                contact.full_name,
                contact.first_name,
                contact.last_name,
            )
            lead.email, lead.company, lead.region = contact.email, account.name, account.region
        age = (now - created).days
        lead.status = "new" if n in known else _status(rnd, age)
        if not (
            lead.status == "new" and source == "web_form" and lead.region not in ("华东", "华南", "华西")
        ):
            routed = await router.route(source=source, region=lead.region)
            lead.owner_id, lead.team_id = routed.owner_id, routed.team_id
            if lead.owner_id is None and staff:  # no rule matched: a manager handed it out
                picked = staff[n % len(staff)]
                lead.owner_id, lead.team_id = picked.id, picked.team_id
        low, high = SCORES[lead.status]
        lead.score = rnd.randint(low, high)
        if lead.status in ("qualified", "converted"):
            lead.qualified_at = created + timedelta(days=rnd.randint(1, max(1, min(age, 20))))
        if lead.status == "disqualified":
            lead.disqualified_reason = rnd.choice(DISQUALIFIED)
        lead.updated_at = min(created + timedelta(days=rnd.randint(0, 10)), now)
        if lead.status == "converted":
            lead.converted_at = min((lead.qualified_at or created) + timedelta(days=rnd.randint(1, 14)), now)
            lead.updated_at = lead.converted_at
        session.add(lead)
        if source == "web_form":
            forms[detail].submissions += 1
    await router.save()
    await session.flush()
    leads = list((await session.execute(select(Lead).order_by(Lead.id))).scalars())
    for lead in leads:
        await _notes(session, rnd, lead, now)
    for lead in leads:
        if lead.status == "converted":
            await _convert(session, rnd, lead, accounts, stages, now, today)
    await session.flush()


def _moments(
    rnd: random.Random, now: datetime, today: date
) -> list[tuple[datetime, tuple[str, list[str]] | None]]:
    """When each lead arrived (more lately than long ago), and the campaigns' own leads: the
    Canton Fair's in the days of the fair, the e-mail campaign's in the three weeks since it went out."""
    out: list[tuple[datetime, tuple[str, list[str]] | None]] = []
    for _ in range(LEADS - 30):
        days = DAYS * rnd.random() ** 1.3
        out.append((now - timedelta(days=days, minutes=rnd.randint(0, 600)), None))
    for _ in range(18):
        out.append(
            (now - timedelta(days=rnd.uniform(54, 60), minutes=rnd.randint(0, 600)), ("event", [FAIR]))
        )
    for _ in range(12):
        out.append((now - timedelta(days=rnd.uniform(0.2, 20)), ("campaign", [LAUNCH])))
    return out


def _referrer(rnd: random.Random, accounts: list[Account]) -> str:
    return f"Referred by {rnd.choice(accounts).name}"[:200]


def _lead(
    rnd: random.Random, n: int, created: datetime, source: str, detail: str, companies: set[str]
) -> Lead:
    western = rnd.random() < 0.12
    if western:
        first, last = rnd.choice(WESTERN_PEOPLE)
        full = f"{first} {last}"
        company = rnd.choice(WESTERN_COMPANIES)
        region, city = "International", rnd.choice(list(WESTERN_CITIES))
        country = WESTERN_CITIES[city]
        email = f"{first}.{last}@{company.split()[0]}{n}.example".lower().replace("ü", "ue")
    else:
        first = rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.5 else "")
        last = rnd.choice(SURNAMES)
        full = f"{last}{first}"
        city, region = rnd.choice(CITIES)
        country = "TW" if city == "台北" else "CN"
        company = None
        if rnd.random() < 0.85:
            name = ""
            for _ in range(5):
                name = f"{city}{rnd.choice(LEAD_WORDS)}{rnd.choice(TRADES)}{rnd.choice(LEAD_FORMS)}"
                if name not in companies:
                    break
            companies.add(name)
            company = name
        email = f"lead{n}@{'qq.com' if company is None else f'corp{n}.example.cn'}"
    return Lead(
        first_name=first,
        last_name=last,
        full_name=full,
        company=company,
        title=rnd.choice(TITLES) if company else None,
        email=email,
        phone=f"+86 13{rnd.randint(0, 9)} {rnd.randint(1000, 9999)} {rnd.randint(1000, 9999)}"
        if rnd.random() < 0.8
        else None,
        region=None if source == "web_form" and rnd.random() < 0.3 else region,
        country=country,
        industry=rnd.choice(TRADES),
        source=source,
        source_detail=detail or None,
        message=rnd.choice(MESSAGES) if source in ("web_form", "email", "api", "campaign") else "",
        created_at=created,
        updated_at=created,
    )


async def _known_contacts(session: AsyncSession, rnd: random.Random) -> dict[int, tuple[Contact, Account]]:
    """Three of the newest leads are people already on file (by e-mail address)."""
    rows = (
        await session.execute(
            select(Contact, Account)
            .join(Account, Account.id == Contact.account_id)
            .where(Contact.email.is_not(None), Account.merged_into_id.is_(None))
            .order_by(Contact.id)
            .limit(60)
        )
    ).all()
    picks = rnd.sample(rows, k=min(3, len(rows)))
    return {LEADS - 1 - 7 * i: (c, a) for i, (c, a) in enumerate(picks)}


async def _rules(session: AsyncSession, staff: list[User]) -> None:
    """East China to the East reps in turn, South China to the other team, lists, partners and
    fairs to anyone in turn; web-form leads from elsewhere wait for a manager."""
    if not staff or await session.scalar(
        select(func.count()).select_from(AssignmentRule).where(AssignmentRule.applies_to == "lead")
    ):
        return
    east = staff[0].team_id
    east_people = [u.id for u in staff if u.team_id == east]
    east_reps = [u.id for u in staff if u.team_id == east and u.id != staff[-1].id] or east_people
    others = [u.id for u in staff if u.team_id != east]
    other_team = next((u.team_id for u in staff if u.team_id != east), None)
    rules = [
        AssignmentRule(
            name="华东 East region → East sales", position=10, match_regions=["华东"],
            strategy="round_robin", user_ids=east_reps, team_id=east,
        ),
        AssignmentRule(
            name="华南 South China → West sales", position=20, match_regions=["华南"],
            strategy="round_robin", user_ids=others or east_people, team_id=other_team or east,
        ),
        AssignmentRule(
            name="Lists, partners and fairs", position=30,
            match_sources=["import", "api", "referral", "event", "campaign", "email", "phone", "manual"],
            strategy="round_robin", user_ids=[u.id for u in staff],
        ),
    ]  # fmt: skip
    session.add_all(rules)
    await session.flush()


async def _web_forms(session: AsyncSession, rnd: random.Random) -> dict[str, WebForm]:
    forms = {}
    for name, key in WEB_FORMS:
        form = WebForm(
            key=f"{key}-{rnd.getrandbits(40):010x}",
            name=name,
            source="web_form",
            thank_you_message=THANKS,
            submissions=0,
        )
        session.add(form)
        forms[name] = form
    await session.flush()
    return forms


async def _notes(session: AsyncSession, rnd: random.Random, lead: Lead, now: datetime) -> None:
    if lead.status == "new":
        return
    count = {"contacted": (1, 2), "qualified": (2, 4), "disqualified": (1, 3), "converted": (2, 4)}
    low, high = count.get(lead.status, (0, 0))
    end = lead.converted_at or lead.updated_at or now
    for _ in range(rnd.randint(low, high)):
        kind, subject, body, direction = rnd.choice(LEAD_NOTES)
        when = (
            lead.created_at
            + (max(end, lead.created_at + timedelta(hours=2)) - lead.created_at) * rnd.random()
        )
        session.add(
            Activity(
                kind=kind,
                subject=subject,
                body=body,
                direction=direction,
                occurred_at=when,
                lead_id=lead.id,
                user_id=lead.owner_id,
                created_at=when,
            )
        )


async def _convert(
    session: AsyncSession,
    rnd: random.Random,
    lead: Lead,
    accounts: list[Account],
    stages: Stages | None,
    now: datetime,
    today: date,
) -> None:
    """What conversion makes: an account (new, or an existing one of the owner's), a contact, and
    most of the time an opportunity; the lead's activities join the account's timeline."""
    converted = lead.converted_at or now
    mine = [a for a in accounts if a.owner_id == lead.owner_id and a.owner_id is not None]
    # The owner's account of the same company (an earlier lead from it was converted) gets the
    # new contact; another rep's is out of reach, as it is in the conversion form.
    existing = next((a for a in mine if lead.company and a.name == lead.company), None)
    if existing is None and mine and lead.company and rnd.random() < 0.25:
        existing = rnd.choice(mine)
    if existing is None:
        account = Account(
            kind="company" if lead.company else "person",
            name=lead.company or lead.full_name,
            legal_name=lead.company,
            email=None if lead.company else lead.email,
            phone=None if lead.company else lead.phone,
            industry=lead.industry,
            region=lead.region,
            country=lead.country,
            lifecycle_stage="prospect",
            source=lead.source,
            owner_id=lead.owner_id,
            team_id=lead.team_id,
            created_at=converted,
            updated_at=converted,
        )
        session.add(account)
        await session.flush()
        accounts.append(account)
    else:
        account = existing
    contact = Contact(
        account_id=account.id,
        first_name=lead.first_name,
        last_name=lead.last_name,
        full_name=lead.full_name,
        title=lead.title,
        email=lead.email,
        phone=lead.phone,
        notes=lead.message,
        is_primary=existing is None,
        created_at=converted,
        updated_at=converted,
    )
    session.add(contact)
    await session.flush()
    deal = None
    if stages is not None and rnd.random() < 0.75:
        deal = await _deal(session, rnd, lead, account, contact, stages, converted, now, today)
    await session.execute(  # the lead last changed when it was converted, not when this ran
        update(Lead)
        .where(Lead.id == lead.id)
        .values(
            converted_account_id=account.id,
            converted_contact_id=contact.id,
            converted_opportunity_id=deal.id if deal else None,
            updated_at=Lead.updated_at,
        )
    )
    rows = await session.execute(select(Activity).where(Activity.lead_id == lead.id))
    for activity in rows.scalars():
        activity.account_id, activity.contact_id = account.id, contact.id


async def _deal(
    session: AsyncSession,
    rnd: random.Random,
    lead: Lead,
    account: Account,
    contact: Contact,
    stages: Stages,
    opened: datetime,
    now: datetime,
    today: date,
) -> Opportunity:
    """The deal a conversion opens: still open the first weeks, later further on — or lost."""
    age = (now - opened).days
    name, amount = made_up_deal(rnd, today.year + 1)
    lost = age > 45 and rnd.random() < 0.35
    reach = stages.open[: 2 if age < 20 else 4 if age < 60 else len(stages.open)]
    stage = rnd.choice(reach)
    path = stage_path(rnd, stages, stage, stages.lost if lost else None)
    moved = opened + (now - opened) * rnd.uniform(0.4, 0.95) if len(path) > 1 else opened
    deal = Opportunity(
        name=name,
        account_id=account.id,
        contact_id=contact.id,
        stage_id=stages.lost.id if lost else stage.id,
        amount=amount,
        currency=base_currency(),
        probability=0 if lost else stage.probability,
        expected_close_date=(moved.date() if lost else today + timedelta(days=rnd.randint(20, 150))),
        source=lead.source,
        lost_reason=rnd.choice(["Chose a competitor", "预算取消 Budget withdrawn"]) if lost else None,
        closed_at=moved if lost else None,
        stage_changed_at=moved,
        board_position=float(10_000 + (lead.id or 0)),
        owner_id=lead.owner_id,
        team_id=lead.team_id,
        created_at=opened,
        updated_at=moved,
    )
    session.add(deal)
    await session.flush()
    session.add_all(history(rnd, deal.id, path, opened, moved, lead.owner_id))
    return deal
