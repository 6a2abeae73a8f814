"""Demo data for the customer master (the ``acme`` demo tenant, CRM-1): the accounts every other
CRM seeder builds on.

    await seed_customers_demo(session)     # idempotent: does nothing once an account exists

About 300 accounts — Chinese and international companies and some individuals, over five regions
and every lifecycle stage, tagged, a few with needs and preferences — owned by the sales staff
(round the sales representatives and managers, a few unassigned); one to four contacts each;
eighteen months of calls, meetings, e-mails, inquiries, complaints, notes and tasks; and a handful
of near-duplicates so the duplicates page and the merge have something real to show. Rows are
written directly with their past dates; deterministic (a fixed random seed).
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Activity, Contact
from app.kernel.db import utcnow
from app.security.models import Role, User, UserRole

ACCOUNTS = 300
CITIES = [
    ("上海", "华东"),
    ("杭州", "华东"),
    ("南京", "华东"),
    ("苏州", "华东"),
    ("深圳", "华南"),
    ("广州", "华南"),
    ("厦门", "华南"),
    ("北京", "华北"),
    ("天津", "华北"),
    ("成都", "华西"),
    ("重庆", "华西"),
    ("台北", "台湾"),
]
WORDS = [
    "明辉",
    "华信",
    "恒通",
    "瑞丰",
    "天成",
    "新元",
    "金桥",
    "博远",
    "中科",
    "宏达",
    "东方",
    "嘉禾",
    "永安",
    "海纳",
    "卓越",
    "安泰",
    "长城",
    "星河",
    "万方",
    "和信",
    "汇通",
    "瑞祥",
    "百川",
    "金鼎",
    "天宇",
]
TRADES = ["贸易", "科技", "印务", "电子", "医疗器械", "教育科技", "物流", "文化传媒", "设计", "建设"]
FORMS = ["有限公司", "股份有限公司", "有限责任公司"]
WESTERN = [  # one foreign company each (no branches: "Helix Medical Asia" would look like a duplicate)
    "Lumen Print",
    "Northwind Trading",
    "Blue Harbour Logistics",
    "Keller & Söhne",
    "Atlas Office Supply",
    "Redwood Schools",
    "Helix Medical",
    "Pioneer Graphics",
    "Summit Architects",
    "Orchid Hotels",
    "Vantage Media",
    "Crescent Legal",
    "Brightwater Foods",
    "Ironbridge Engineering",
    "Silverline Travel",
    "Greenfield Farms",
    "Oakridge Clinics",
    "Harborview Realty",
    "Maple Leaf Imports",
    "Falcon Aviation",
    "Sterling Accountants",
    "Evergreen Packaging",
    "Nordlicht Verlag",
    "Copperfield Textiles",
    "Bayside Dental",
    "Riverstone Capital",
    "Zenith Robotics",
    "Aurora Labs",
    "Granite Insurance",
    "Skyline Events",
    "Coastal Shipping",
    "Willow Care Homes",
    "Kestrel Consulting",
    "Meadowbrook College",
    "Tidewater Energy",
    "Quartz Electronics",
]
WESTERN_FORMS = ["Ltd", "GmbH", "Inc.", "Pte. Ltd.", "LLC"]
WESTERN_CITIES = {"Singapore": "SG", "Hamburg": "DE", "London": "GB"}
ROADS = ["人民路", "中山路", "建设路", "解放路", "科技园路", "长江路", "南京西路", "滨江大道"]
STREETS = ["Harbour Road", "Market Street", "Kaiserstraße", "Orchard Road"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
]
TITLES = [
    "采购经理",
    "总经理",
    "行政主管",
    "IT 主管",
    "财务经理",
    "办公室主任",
    "Purchasing manager",
    "Office manager",
]
TAGS = ["vip", "key account", "展会2026", "distributor", "education", "government", "hospital", "new"]
STAGES = ["customer"] * 5 + ["prospect"] * 3 + ["partner", "churned"]
NEEDS = [
    "明年一季度更换 20 台 A4 打印机，希望含三年维保。",
    "Needs a wide-format printer for the design studio; budget about ¥60,000.",
    "关注耗材成本，希望按月结算碳粉。",
    "Wants on-site training for new staff every September.",
]
ACTIVITIES = [
    ("call", "询问 A3 彩色一体机报价", "客户希望下周收到正式报价。", "in"),
    ("call", "Follow-up on the quote", "Decision expected after their budget meeting.", "out"),
    ("meeting", "现场拜访，查看打印机房", "现有设备老化，计划分两批更换。", None),
    ("email", "Sent the maintenance contract draft", "Asked for comments by Friday.", "out"),
    ("email", "收到付款确认", "", "in"),
    ("inquiry", "询问扫描仪是否支持 OCR", "已发送产品资料。", None),
    ("complaint", "碳粉到货晚了三天", "已致歉并承诺下次优先发货。", None),
    ("complaint", "Printer jams on tray 2", "Ticket opened with the service desk.", None),
    ("note", "决策人：总经理；财务审批周期约两周", "", None),
    ("note", "Prefers WeChat over phone calls", "", None),
]
TASKS = ["发送正式报价", "Call back about the training date", "准备续约方案", "Send the invoice copy"]
# Near-duplicates the duplicates page finds: (name of the copy, index of the original).
DUPLICATES = [("上海明辉贸易", 0), ("SHANGHAI MINGHUI TRADING", 0), ("深圳华信科技", 1)]


async def sales_staff(session: AsyncSession) -> list[User]:
    """Active staff holding a sales role, representatives first (the accounts' owners)."""
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(
            Role.key.in_(("sales_rep", "sales_manager")),
            User.is_active.is_(True),
            User.is_external.is_(False),
        )
        .order_by(Role.key.desc(), User.id)
    )
    return list(dict.fromkeys((await session.execute(stmt)).scalars()))


def _company(rnd: random.Random, i: int) -> tuple[str, str, str, str]:
    """(name, legal name, city, region) of the i-th account."""
    if i == 0:
        return "上海明辉贸易有限公司", "上海明辉贸易有限公司", "上海", "华东"
    if i == 1:
        return "深圳华信科技有限公司", "深圳华信科技有限公司", "深圳", "华南"
    if i % 9 == 0:  # the n-th foreign company
        name = f"{WESTERN[(i // 9) % len(WESTERN)]} {rnd.choice(WESTERN_FORMS)}"
        return name, name, rnd.choice(list(WESTERN_CITIES)), "International"
    # Every (city, word) pair once for the first len(CITIES) × len(WORDS) accounts: no look-alikes.
    city, region = CITIES[i % len(CITIES)]
    word = WORDS[(i // len(CITIES)) % len(WORDS)]
    name = f"{city}{word}{TRADES[(i * 7) % len(TRADES)]}{FORMS[i % len(FORMS)]}"
    return name, name, city, region


def _address(rnd: random.Random, city: str) -> str:
    if city in WESTERN_CITIES:
        return f"{rnd.randint(1, 240)} {rnd.choice(STREETS)}, {city}"
    return f"{city}市{rnd.choice(ROADS)}{rnd.randint(1, 999)}号"


def _person(rnd: random.Random) -> tuple[str, str]:
    return rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.5 else ""), rnd.choice(SURNAMES)


async def seed_customers_demo(session: AsyncSession) -> None:
    if await session.scalar(select(func.count()).select_from(Account)):
        return
    rnd = random.Random(2026)  # noqa: S311 — made-up demo people, not secrets
    staff = await sales_staff(session)
    now = utcnow()
    accounts: list[Account] = []
    seen: set[str] = set()
    for i in range(ACCOUNTS):
        person = i % 7 == 3
        if person:
            first, last = _person(rnd)
            name = legal = f"{last}{first}"
            city, region = CITIES[i % len(CITIES)]
        else:
            name, legal, city, region = _company(rnd, i)
        if name in seen:
            name = f"{name} ({city})"
        seen.add(name)
        owner = staff[i % len(staff)] if staff and i % 10 != 9 else None
        created = now - timedelta(days=rnd.randint(30, 1100))
        accounts.append(
            Account(
                kind="person" if person else "company",
                name=name,
                legal_name=None if person else legal,
                email=f"info{i}@{'mail' if person else 'company'}{i}.example",
                phone=f"+86 21 {6100_0000 + i * 37}",
                website=None if person else f"www.company{i}.example",
                industry=next((t for t in TRADES if t in name), None) or rnd.choice(TRADES),
                region=region,
                country=WESTERN_CITIES.get(city) or ("TW" if city == "台北" else "CN"),
                city=city,
                address=_address(rnd, city),
                lifecycle_stage=STAGES[i % len(STAGES)],
                source=rnd.choice(["fair", "referral", "web", "cold call"]),
                tags=sorted(set(rnd.sample(TAGS, k=rnd.choice([0, 1, 1, 2])))),
                needs=NEEDS[i % 4] if i % 5 == 0 else "",
                preferences={"Contact channel": rnd.choice(["WeChat", "E-mail", "Phone"])}
                if i % 4 == 0
                else {},
                owner_id=owner.id if owner else None,
                team_id=owner.team_id if owner else None,
                created_at=created,
                updated_at=created,
            )
        )
    for copy, original in DUPLICATES:
        src = accounts[original]
        accounts.append(
            Account(
                kind="company",
                name=copy,
                email=src.email,
                region=src.region,
                city=src.city,
                lifecycle_stage="prospect",
                owner_id=src.owner_id,
                team_id=src.team_id,
                created_at=now - timedelta(days=5),
                updated_at=now - timedelta(days=5),
            )
        )
    session.add_all(accounts)
    await session.flush()
    await _people_and_history(session, rnd, accounts)


async def _people_and_history(session: AsyncSession, rnd: random.Random, accounts: list[Account]) -> None:
    contacts: list[Contact] = []
    for n, account in enumerate(accounts):
        for k in range(1 if account.kind == "person" else rnd.choice([1, 2, 2, 3, 4])):
            first, last = _person(rnd)
            contacts.append(
                Contact(
                    account_id=account.id,
                    first_name=first,
                    last_name=last,
                    full_name=f"{last}{first}",
                    title=None if account.kind == "person" else rnd.choice(TITLES),
                    email=f"c{n}.{k}@company{n}.example",
                    phone=f"+86 138 {1000_0000 + n * 10 + k}",
                    is_primary=k == 0,
                    notes="",
                )
            )
    session.add_all(contacts)
    await session.flush()
    first_contact = {c.account_id: c for c in reversed(contacts)}
    activities = []
    for account in accounts:
        contact = first_contact.get(account.id)
        for _ in range(rnd.choice([0, 1, 2, 3, 4, 6, 8])):
            kind, subject, body, direction = rnd.choice(ACTIVITIES)
            # Since the account is on file (at most eighteen months back), never before.
            age = max(1, min(540, (utcnow() - account.created_at).days))
            when = utcnow() - timedelta(days=rnd.randint(1, age) - 1, minutes=rnd.randint(0, 600))
            activities.append(
                Activity(
                    kind=kind,
                    subject=subject,
                    body=body,
                    direction=direction,
                    occurred_at=when,
                    account_id=account.id,
                    contact_id=contact.id if contact else None,
                    user_id=account.owner_id,
                    created_at=when,
                )
            )
        if account.owner_id and rnd.random() < 0.25:
            due = utcnow() + timedelta(days=rnd.randint(-5, 20))
            done = utcnow() - timedelta(days=1) if rnd.random() < 0.3 else None
            activities.append(
                Activity(
                    kind="task",
                    subject=rnd.choice(TASKS),
                    due_at=due,
                    done_at=done,
                    occurred_at=utcnow() - timedelta(days=7),
                    account_id=account.id,
                    user_id=account.owner_id,
                    created_at=utcnow() - timedelta(days=7),
                )
            )
    session.add_all(activities)
    await session.flush()
