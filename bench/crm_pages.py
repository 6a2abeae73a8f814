"""Benchmark: CRM pages on a large tenant (CRM issue targets, 16 concurrent users).

    .venv/bin/python bench/crm_pages.py [--think 1000] [--seconds 20] [--keep]

One tenant with 200,000 leads, 50,000 accounts (with 50,000 contacts) and 20,000 opportunities,
owned by 40 reps in 8 teams (a tenth of the leads unassigned), Chinese and English names. Three
people sign in through the log-in form — a rep (own scope: ~5,000 leads, ~1,250 accounts, ~500
deals), the manager of the rep's team (team scope) and the tenant administrator (all) — and the
page groups of the targets are measured for each:

* lead list (filtered, sorted, paginated): p95 < 100 ms — the list pages people use, rotated:
  newest first, each filter, the other sorts, a search, a later page;
* account search: p95 < 100 ms — the search page across accounts, contacts and leads, and the
  account list's search box, with English words, Chinese names (2 and 4 characters), an e-mail;
* the kanban board of one rep: < 150 ms (the rep's board, and the manager's team board).

Load: 16 concurrent users, each a wrk connection. Two levels per group: users who read what they
asked for before the next click (``--think`` ms on average, default 1 s, drawn from 0.5 to 1.5
times that between a response and the next request — faster than people at their desks click),
and the same 16 connections with no pause at
all (a closed loop at saturation: p95 is then mostly queueing). The target figure is the first;
both are printed. Server as `tessera web` runs it (uvicorn, one worker), pinned to CPU 0,
wrk on CPU 1, PostgreSQL floating (bench/_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from _common import create_tenants, db_name, header, migrate_shared, out, scratch_database
from _load import Sampler, Target, cpu_note, quiet_notice, serve, settle, sign_in, wrk

SLUG = "crm"
APP = "app.main:create_app"
PASSWORD = "bench password 0123"
USERS = 16


@dataclass(frozen=True)
class Group:
    name: str
    target_ms: float
    pages: tuple[str, ...]
    personas: tuple[str, ...]


GROUPS = [
    Group(
        "lead list",
        100,
        (
            "/sales/leads",
            "/sales/leads?f_status=new",
            "/sales/leads?f_source=referral",
            "/sales/leads?f_region=East",
            "/sales/leads?sort=name&dir=asc",
            "/sales/leads?sort=score&dir=desc",
            "/sales/leads?q=company+1234",
            "/sales/leads?page=4",
        ),
        ("rep", "manager", "admin"),
    ),
    Group(
        "account search",
        100,
        (
            "/crm/search?q=Lovelace+123",
            "/crm/search?q=%E6%98%8E%E8%BE%89",  # 明辉 (two characters: no trigram index can help)
            "/crm/search?q=%E5%8D%8E%E4%BF%A1%E7%A7%91%E6%8A%80",  # 华信科技
            "/crm/search?q=buyer4711%40example.com",
            "/crm/accounts?q=Engines+42",
            "/crm/accounts?q=%E4%B8%8A%E6%B5%B7%E7%91%9E%E4%B8%B0",  # 上海瑞丰
        ),
        ("rep", "manager", "admin"),
    ),
    Group("kanban board", 150, ("/sales/pipeline",), ("rep", "manager")),
]

SEED = """
INSERT INTO teams (name) SELECT 'Bench team ' || g FROM generate_series(1, 8) g;
INSERT INTO users (email, full_name, is_active, is_external, team_id, session_epoch)
  SELECT 'rep' || g || '@crm.example', 'Rep ' || g, true, false,
         (SELECT min(id) FROM teams WHERE name LIKE 'Bench team %') + (g % 8), 0
  FROM generate_series(1, 40) g;
CREATE TEMP TABLE reps ON COMMIT DROP AS
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(team_id ORDER BY id) AS teams
  FROM users WHERE email LIKE 'rep%@crm.example';
INSERT INTO crm_accounts (kind, name, email, phone, region, city, lifecycle_stage, tags, owner_id, team_id)
SELECT 'company',
       CASE WHEN g % 2 = 0
            THEN (ARRAY['上海','北京','深圳','杭州','广州','成都','苏州','南京'])[1 + g % 8]
                 || (ARRAY['明辉','华信','瑞丰','锦程','德盛','恒通','宏远','嘉禾','永泰','天成'])
                    [1 + (g / 8) % 10]
                 || (ARRAY['科技','贸易','制造','医疗','物流'])[1 + (g / 80) % 5] || g || '有限公司'
            ELSE (ARRAY['Lovelace','Babbage','Hopper','Turing','Noether','Curie'])[1 + g % 6]
                 || ' Engines ' || g || ' Ltd' END,
       'buyer' || g || '@example.com', '+86 21 ' || lpad(g::text, 8, '0'),
       (ARRAY['East','West','North','South','华东','华南'])[1 + g % 6],
       (ARRAY['Shanghai','Beijing','Shenzhen','Hangzhou'])[1 + g % 4],
       (ARRAY['prospect','customer','customer','partner'])[1 + g % 4],
       CASE WHEN g % 7 = 0 THEN ARRAY['vip'] ELSE '{}' END,
       reps.ids[1 + g % 40], reps.teams[1 + g % 40]
FROM generate_series(1, 50000) g, reps;
INSERT INTO crm_contacts (account_id, first_name, last_name, full_name, email, phone, is_primary)
SELECT a.id, 'First' || a.id, 'Last' || a.id, 'Contact ' || a.id, 'contact' || a.id || '@example.com',
       '+86 138 ' || lpad(a.id::text, 8, '0'), true
FROM crm_accounts a;
INSERT INTO crm_leads (first_name, last_name, full_name, company, email, phone, region, source, status,
                       score, owner_id, team_id, created_at, updated_at)
SELECT '', '', 'Lead ' || substr(md5(g::text), 1, 10), 'Company ' || (g % 20000),
       'lead' || g || '@example.com', '+86 139 ' || lpad((g % 100000000)::text, 8, '0'),
       (ARRAY['East','West','North','South','华东','华南'])[1 + g % 6],
       (ARRAY['manual','web_form','api','import','campaign','referral','event','email','phone'])
         [1 + (g * 7) % 9],
       (ARRAY['new','new','contacted','qualified','disqualified','converted'])[1 + (g * 3) % 6],
       g % 101,
       CASE WHEN g % 10 = 0 THEN NULL ELSE reps.ids[1 + g % 40] END,
       CASE WHEN g % 10 = 0 THEN NULL ELSE reps.teams[1 + g % 40] END,
       now() - (g || ' minutes')::interval, now()
FROM generate_series(1, 200000) g, reps;
INSERT INTO crm_opportunities (name, account_id, stage_id, amount, currency, probability, expected_close_date,
                               stage_changed_at, board_position, owner_id, team_id, closed_at)
SELECT 'Deal ' || g, (SELECT min(id) FROM crm_accounts) + g % 50000, s.id, (g % 500) * 100 + 1000, 'CNY',
       s.probability, current_date + (g % 300), now(), g,
       reps.ids[1 + g % 40], reps.teams[1 + g % 40],
       CASE WHEN s.is_won OR s.is_lost THEN now() - make_interval(days => g % 365) END
FROM generate_series(1, 20000) g
JOIN crm_pipeline_stages s ON s.position = 1 + g % 7, reps
"""


async def _setup() -> dict[str, str]:
    """The tenant, its records and three people who can sign in; returns persona → e-mail."""
    from sqlalchemy import select, text, update

    from app.kernel.db import close_database, get_database
    from app.kernel.redis import close_redis
    from app.security.models import Team, User
    from app.security.services.users import create_user
    from tenants.service import in_tenant

    try:
        [tenant] = await create_tenants(1, prefix=SLUG)
        engine = get_database().engine
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f'SET LOCAL search_path TO "{tenant.schema}", public')
            for statement in SEED.split(";\n"):
                if statement.strip():
                    await conn.execute(text(statement))
        emails = {
            "rep": f"alice@{SLUG}.example",
            "manager": f"sam@{SLUG}.example",
            "admin": f"ada@{SLUG}.example",
        }
        async with in_tenant(SLUG) as (session, _):
            team = (await session.execute(select(Team).where(Team.name == "Bench team 1"))).scalar_one()
            alice = await create_user(session, email=emails["rep"], full_name="Alice", password=PASSWORD,
                                      role_keys=["sales_rep"], team_id=team.id)  # fmt: skip
            sam = await create_user(session, email=emails["manager"], full_name="Sam", password=PASSWORD,
                                    role_keys=["sales_manager"], team_id=team.id)  # fmt: skip
            await create_user(session, email=emails["admin"], full_name="Ada", password=PASSWORD,
                              role_keys=["tenant_admin"])  # fmt: skip
            await session.flush()
            await session.execute(update(Team).where(Team.id == team.id).values(manager_id=sam.id))
            # alice takes over one rep of team 1: her own ~5,000 leads, ~1,250 accounts, ~500 deals
            rep = (
                await session.execute(select(User.id).where(User.email == "rep8@crm.example"))
            ).scalar_one()
            for table in ("crm_leads", "crm_accounts", "crm_opportunities"):
                await session.execute(
                    text(f'UPDATE "{tenant.schema}".{table} SET owner_id = :a WHERE owner_id = :r'),
                    {"a": alice.id, "r": rep},
                )
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("crm_leads", "crm_accounts", "crm_contacts", "crm_opportunities"):
                await conn.exec_driver_sql(f'VACUUM ANALYZE "{tenant.schema}".{table}')
        async with engine.connect() as conn:
            counts = {
                t: await conn.scalar(text(f'SELECT count(*) FROM "{tenant.schema}".{t}'))
                for t in ("crm_leads", "crm_accounts", "crm_contacts", "crm_opportunities")
            }
            mine = {
                t: await conn.scalar(
                    text(f'SELECT count(*) FROM "{tenant.schema}".{t} WHERE owner_id = :a'), {"a": alice.id}
                )
                for t in ("crm_leads", "crm_accounts", "crm_opportunities")
            }
        out("tenant: " + ", ".join(f"{n:,} {t.removeprefix('crm_')}" for t, n in counts.items()))
        out("the rep owns: " + ", ".join(f"{n:,} {t.removeprefix('crm_')}" for t, n in mine.items()))
        return emails
    finally:
        await close_database()
        await close_redis()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--think", type=float, default=1000, help="ms between a response and the next click")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    header(f"CRM pages on a large tenant, {USERS} concurrent users")
    out(cpu_note())
    with scratch_database("crm_pages", keep=args.keep) as url:
        migrate_shared(url)
        db = db_name(url)
        emails = asyncio.run(_setup())
        host = f"{SLUG}.localhost"
        with serve("app", APP) as server:
            cookies = {p: asyncio.run(sign_in(server.port, host, e, PASSWORD)) for p, e in emails.items()}
            quiet_notice()
            verdicts = []
            for group in GROUPS:
                out(f"{group.name} (target p95 < {group.target_ms:.0f} ms): {', '.join(group.pages)}")
                for persona in group.personas:
                    targets = [Target(host, cookies[persona], p) for p in group.pages]
                    wrk(server.port, targets, connections=USERS, seconds=args.warmup, auth="cookie")
                    for think in (args.think, 0):
                        with Sampler(server, db) as s:
                            r = wrk(server.port, targets, connections=USERS, seconds=args.seconds,
                                    delay_ms=think, auth="cookie", jitter=True)  # fmt: skip
                        met = r.p95_ms < group.target_ms and r.errors == 0
                        label = f"think {think / 1000:.1f} s" if think else "no pause"
                        out(f"  {persona:<8} {label:<12} {r.line()}  [{'met' if met else 'MISSED'}]")
                        out(f"  {'':<8} {'':<12} {s.per_request(r.requests)}")
                        if think:
                            verdicts.append((group.name, persona, r.p95_ms, met))
                        settle()
            out("summary (16 users with think time):")
            for name, persona, p95, met in verdicts:
                out(f"  {name:<15} {persona:<8} p95 {p95:6.1f} ms  {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
