"""Benchmark: importing 10,000 contacts from CSV with duplicate detection (CRM-1; target < 30 s).

    .venv/bin/python bench/crm_contact_import.py [--rows 10000] [--accounts 50000] [--contacts 100000]
                                                 [--keep]

Setup (in a scratch database, see _common.py): one tenant with ``--accounts`` accounts and
``--contacts`` contacts spread over them (names, e-mail addresses, phone numbers), owned by a
sales representative of team East; then ANALYZE, as autovacuum would have done on a live system.

The file (UTF-8 CSV, the columns of the import page): ``--rows`` contacts, of which 20% name an
existing account (the exact name in another letter case), the rest about 1,000 new companies
(Chinese and Latin names); 3% carry the e-mail of an existing contact, 1% its phone number written
differently, 1% repeat an e-mail from earlier in the file — so about 5% are duplicates.

What is timed: ``app.crm.services.contact_import.import_contacts`` as the portal calls it — parse
and clean every row, match the accounts (one query), detect duplicates (one query over the rows
as unnest arrays joined to the contacts: same e-mail, same phone digits, similar name at the same
account), INSERT the new accounts and the contacts (INSERT ... SELECT FROM unnest ... RETURNING)
with their audit rows — plus the COMMIT; first as the tenant administrator (no record rule),
then as the sales representative (their own accounts only), each with "skip duplicates".
Reported: wall time per run and the report's counts; a "stop" run (detection only, nothing
written) is timed too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from _common import create_tenants, header, migrate_shared, out, scratch_database

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "台北", "新加坡"]
TRADES = ["贸易", "科技", "电子", "机械", "印刷", "物流", "食品", "化工"]


def _seed_sql(schema: str, accounts: int, contacts: int, owner_id: int, team_id: int) -> list[str]:
    s = f'"{schema}"'
    return [
        f"""INSERT INTO {s}.crm_accounts (kind, name, region, lifecycle_stage, tags, owner_id, team_id,
                   email, phone, created_at, updated_at)
            SELECT 'company', 'Bench Account ' || g,
                   (ARRAY['华东', '华南', '华北', 'East', 'West'])[1 + g % 5],
                   'customer', ARRAY[]::varchar[], CASE WHEN g % 4 = 0 THEN {owner_id} END,
                   CASE WHEN g % 4 = 0 THEN {team_id} END, 'info' || g || '@bench-account.example',
                   '+86 21 ' || lpad((10000000 + g)::text, 8, '0'), now(), now()
            FROM generate_series(1, {accounts}) AS g""",
        f"""INSERT INTO {s}.crm_contacts (account_id, first_name, last_name, full_name, email, phone,
                   is_primary, notes, created_at, updated_at)
            SELECT a.first + (g % {accounts}), 'Person', g::text, 'Person ' || g,
                   'person' || g || '@bench.example',
                   '138 ' || lpad(g::text, 8, '0'), g <= {accounts}, '', now(), now()
            FROM generate_series(1, {contacts}) AS g, (SELECT min(id) AS first FROM {s}.crm_accounts) AS a""",
        f"ANALYZE {s}.crm_accounts",
        f"ANALYZE {s}.crm_contacts",
    ]


def _file(rows: int, accounts: int, contacts: int, tag: str, seed: int) -> bytes:
    from app.kernel.csvfile import csv_bytes

    rnd = random.Random(seed)
    new_companies = [f"{rnd.choice(CITIES)}{tag}{i}{rnd.choice(TRADES)}有限公司" for i in range(800)]
    new_companies += [f"Bench {tag} Trading {i} Ltd" for i in range(200)]
    out_rows = []
    for i in range(rows):
        roll = rnd.random()
        account = f"BENCH ACCOUNT {rnd.randint(1, accounts)}" if roll < 0.2 else rnd.choice(new_companies)
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)
        email = f"{tag}.{i}@import.example"
        phone = f"139 {i:04d} {rnd.randint(0, 9999):04d}"
        dup = rnd.random()
        if dup < 0.03:
            email = f"PERSON{rnd.randint(1, contacts)}@bench.example"  # an existing contact's address
        elif dup < 0.04:
            phone = f"+86-138-{rnd.randint(1, contacts):08d}"[:-4] + "0000"  # another spelling of a number
        elif dup < 0.05 and i > 0:
            email = f"{tag}.{rnd.randint(0, i - 1)}@import.example"  # a repeat within the file
        out_rows.append([account, name[1:], name[0], "", email, phone, "采购", "华东", "fair-2026"])
    header = [
        "account_name",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "title",
        "region",
        "tags",
    ]
    return csv_bytes(header, out_rows)


async def _run(rows: int, accounts: int, contacts: int) -> None:
    from sqlalchemy import text

    from app.crm.services.contact_import import import_contacts
    from app.crm.services.import_support import ImportRejected
    from app.kernel.context import Actor
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis
    from app.security.principal import load_user_principal
    from app.security.services.teams import create_team
    from app.security.services.users import create_user
    from tenants.service import in_tenant

    try:
        [tenant] = await create_tenants(1, prefix="importbench")
        async with in_tenant(tenant.slug) as (session, _):
            team = await create_team(session, name="East", manager_id=None)
            rep = await create_user(
                session,
                email="rep@bench.example",
                full_name="Bench Rep",
                password="bench-password-0123456789",
                role_keys=["sales_rep"],
                team_id=team.id,
            )
        started = time.perf_counter()
        async with in_tenant(tenant.slug) as (session, _):
            for sql in _seed_sql(tenant.schema, accounts, contacts, rep.id, team.id):
                await session.execute(text(sql))
        out(
            f"seeded {accounts:,} accounts and {contacts:,} contacts in {time.perf_counter() - started:.1f} s"
        )
        for label, user_id, tag in (("administrator", tenant.admin_user_id, "a"), ("sales rep", rep.id, "r")):
            data = _file(rows, accounts, contacts, tag, seed=7 if tag == "a" else 11)
            actor = Actor(kind="user", id=user_id, label=label)
            started, found = time.perf_counter(), 0
            async with in_tenant(tenant.slug, actor) as (session, ref):
                principal = await load_user_principal(session, ref, user_id)
                assert principal is not None
                try:
                    await import_contacts(session, principal, data, duplicates="stop")
                except ImportRejected as exc:
                    found = len(exc.report.duplicates)
                await session.rollback()
            detect = time.perf_counter() - started
            started = time.perf_counter()
            async with in_tenant(tenant.slug, actor) as (session, ref):
                principal = await load_user_principal(session, ref, user_id)
                assert principal is not None
                report = await import_contacts(session, principal, data, duplicates="skip")
            wall = time.perf_counter() - started
            out(
                f"{label:13} {rows:,} rows ({len(data) / 1024 / 1024:.1f} MiB): check only {detect:.2f} s "
                f"({found} duplicates); import {wall:.2f} s wall incl. commit — {report.created:,} contacts, "
                f"{report.accounts_created:,} new accounts, {report.accounts_matched:,} matched, "
                f"{report.skipped:,} duplicates skipped — target < 30 s: {'OK' if wall < 30 else 'MISSED'}"
            )
        async with in_tenant(tenant.slug) as (session, _):
            audit = await session.scalar(
                text(f'SELECT count(*) FROM "{tenant.schema}".audit_log WHERE event = :e'),
                {"e": "crm.contacts_imported"},
            )
            out(f"check: {audit:,} audit rows for imported contacts")
    finally:
        await close_database()
        await close_redis()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    header("CRM contact import")
    with scratch_database("contact_import", keep=args.keep) as url:
        out(f"shared schema migrated in {migrate_shared(url):.2f} s")
        asyncio.run(_run(args.rows, args.accounts, args.contacts))


if __name__ == "__main__":
    main()
