"""Benchmark: the lead list on 200,000 leads (CRM-2 target: p95 < 100 ms under 16 concurrent users).

    .venv/bin/python bench/crm_leads.py [--leads 200000] [--connections 16] [--seconds 15] [--keep]

One tenant with 200,000 leads over 40 reps in 8 teams (10 % unassigned), spread over sources,
statuses and regions, created over the last ~140 days. Three people sign in — a rep (own scope),
the manager of a team (team scope: the team's leads and the unassigned ones) and the tenant
administrator (all) — and each load run rotates over the list pages people use: the default
(newest first), each filter, the other sorts, a search, a later page. The JSON API list
(``GET /api/v1/crm/leads``) is measured the same way with a bearer token.

Server and load generator are pinned as in the platform benchmarks (bench/_load.py): uvicorn
(1 worker) on CPU 0, wrk (1 thread, ``--connections``) on CPU 1; PostgreSQL floats.
"""

from __future__ import annotations

import argparse
import asyncio
import re

import _load
from _common import create_tenants, db_name, header, migrate_shared, out, scratch_database
from _load import Sampler, Target, cpu_note, create_clients, fetch_tokens, quiet_notice, serve, settle, wrk

SLUG = "leads"
APP = "app.main:create_app"
PASSWORD = "bench password 0123"
PAGES = [
    "/sales/leads",
    "/sales/leads?f_status=new",
    "/sales/leads?f_source=referral",
    "/sales/leads?f_region=East",
    "/sales/leads?sort=name&dir=asc",
    "/sales/leads?sort=score&dir=desc",
    "/sales/leads?q=company+1234",
    "/sales/leads?page=4",
]
API = [
    "/api/v1/crm/leads?limit=25",
    "/api/v1/crm/leads?limit=25&status=new",
    "/api/v1/crm/leads?limit=25&source=referral",
    "/api/v1/crm/leads?limit=25&q=company+1234",
]

SEED = """
INSERT INTO teams (name) SELECT 'Bench team ' || g FROM generate_series(1, 8) g;
INSERT INTO users (email, full_name, is_active, is_external, team_id, session_epoch)
  SELECT 'rep' || g || '@leads.example', 'Rep ' || g, true, false,
         (SELECT min(id) FROM teams WHERE name LIKE 'Bench team %') + (g % 8), 0
  FROM generate_series(1, 40) g;
WITH reps AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(team_id ORDER BY id) AS teams
              FROM users WHERE email LIKE 'rep%@leads.example')
INSERT INTO crm_leads (first_name, last_name, full_name, company, email, phone, region, source, status,
                       score, message, owner_id, team_id, created_at, updated_at)
SELECT '', '', 'Lead ' || substr(md5(g::text), 1, 10), 'Company ' || (g % 20000),
       'lead' || g || '@example.com',
       '+86 138 ' || lpad((g % 100000000)::text, 8, '0'),
       (ARRAY['East','West','North','South','华东','华南'])[1 + g % 6],
       (ARRAY['manual','web_form','api','import','campaign','referral','event','email',
              'phone'])[1 + (g * 7) % 9],
       (ARRAY['new','new','contacted','qualified','disqualified','converted'])[1 + (g * 3) % 6],
       g % 101, '',
       CASE WHEN g % 10 = 0 THEN NULL ELSE reps.ids[1 + g % 40] END,
       CASE WHEN g % 10 = 0 THEN NULL ELSE reps.teams[1 + g % 40] END,
       now() - (g || ' minutes')::interval, now()
FROM generate_series(1, :n) g, reps;
"""


async def _setup(leads: int) -> tuple[str, dict[str, str]]:
    """The tenant, its leads and three people who can sign in; returns (schema, persona → e-mail)."""
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
            await conn.exec_driver_sql(f'SET LOCAL search_path TO "{tenant.schema}"')
            for statement in SEED.split(";\n"):
                if statement.strip():
                    await conn.execute(text(statement), {"n": leads} if ":n" in statement else {})
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f'VACUUM ANALYZE "{tenant.schema}".crm_leads')
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
            # alice takes over the leads of one rep: a rep with ~5,000 leads of their own
            rep = (
                await session.execute(select(User.id).where(User.email == "rep1@leads.example"))
            ).scalar_one()
            await session.execute(
                text(f'UPDATE "{tenant.schema}".crm_leads SET owner_id = :a WHERE owner_id = :r'),
                {"a": alice.id, "r": rep},
            )
        return tenant.schema, emails
    finally:
        await close_database()
        await close_redis()


async def _sign_in(port: int, host: str, email: str) -> str:
    """A session cookie ("tessera_session=...") for ``email``, by the log-in form."""
    import httpx

    headers = {"Host": host, "X-Forwarded-Proto": "https"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as c:
        page = await c.get("/login")
        cookie = page.headers.get("set-cookie", "").split(";", 1)[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the log-in page"
        r = await c.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token[1]},
                         headers={"Cookie": cookie})  # fmt: skip
        if r.status_code != 303:
            raise RuntimeError(f"sign-in of {email} failed: {r.status_code} {r.text[:300]}")
        return str(r.headers["set-cookie"].split(";", 1)[0])


def _run(server_port: int, name: str, targets: list[Target], lua: str, args: argparse.Namespace, db: str,
         server: object) -> None:  # fmt: skip
    _load.LUA = _load.Path(lua)
    wrk(server_port, targets, connections=args.connections, seconds=args.warmup)
    with Sampler(server, db) as s:  # type: ignore[arg-type]
        r = wrk(server_port, targets, connections=args.connections, seconds=args.seconds)
    verdict = "met" if r.p95_ms < 100 and r.errors == 0 else "MISSED"
    out(f"  {name:<8} {r.line()}  [{verdict}]")
    out(f"           {s.per_request(r.requests)}")
    settle()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    header(f"lead list with {args.leads:,} leads, {args.connections} concurrent users")
    out(cpu_note())
    with scratch_database("leads", keep=args.keep) as url:
        migrate_shared(url)
        db = db_name(url)
        _schema, emails = asyncio.run(_setup(args.leads))
        [(client_id, secret)] = asyncio.run(create_clients([SLUG], ["crm.lead.read"]))
        host = f"{SLUG}.localhost"
        cookie_lua = str(_load.Path(__file__).resolve().parent / "wrk_cookies.lua")
        token_lua = str(_load.LUA)
        with serve("app", APP) as server:
            cookies = {p: asyncio.run(_sign_in(server.port, host, e)) for p, e in emails.items()}
            [token] = asyncio.run(fetch_tokens(server.port, [(host, client_id, secret)]))
            quiet_notice()
            out(f"portal pages rotated per run: {', '.join(PAGES)}")
            for persona, cookie in cookies.items():
                _run(
                    server.port,
                    persona,
                    [Target(host, cookie, p) for p in PAGES],
                    cookie_lua,
                    args,
                    db,
                    server,
                )
            out(f"API lists rotated: {', '.join(API)}")
            _run(server.port, "api", [Target(host, token, p) for p in API], token_lua, args, db, server)


if __name__ == "__main__":
    main()
