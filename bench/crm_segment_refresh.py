"""Benchmark: refreshing a segment over 50,000 accounts (CRM-8; target < 5 s per refresh).

    .venv/bin/python bench/crm_segment_refresh.py [--accounts 50000] [--orders 150000] [--runs 5] [--keep]

Setup (in a scratch database, see _common.py): one tenant; ``--accounts`` accounts spread over five
regions, four countries, five lifecycle stages and a few tags, created over the last ~3 years;
``--orders`` sales orders on random accounts (statuses mixed: 60% count — confirmed, fulfilled,
invoiced — the rest draft or cancelled; a few in USD, which a segment never counts), dated over
the last two years; then ANALYZE, as autovacuum would have done on a live system.

What is timed: ``app.crm.services.segments.refresh_segment`` — lock the segment, DELETE its
members, one INSERT ... SELECT over the per-account statistics CTE (LEFT JOIN of the order
aggregate to the accounts, R/F/M quintiles by window functions, the rules' WHERE with bound
parameters) — plus the UPDATE of the segment and the COMMIT, ``--runs`` times per segment:

* ``rfm``: r_score >= 4 and m_score >= 4 (the window functions decide);
* ``spend``: spend >= 10,000 in 365 days and region in two regions;
* ``any``: tags any of (vip, tea) or spend in the last 90 days >= 5,000 or recency <= 30 (match any,
  an extra spend window);
* ``everyone``: no rules — every live account is inserted (the largest write).

Reported per segment: members, the refresh's own ``refresh_ms`` (DELETE + INSERT) and the wall time
around the whole transaction (p50 and max). Then ``EXPLAIN (ANALYZE, BUFFERS)`` of the ``any``
segment's INSERT, and the preview count the rule editor runs while typing.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _common import create_tenants, header, migrate_shared, out, scratch_database, summary_ms

SEGMENTS = {
    "rfm": (
        "all",
        [{"field": "r_score", "op": "gte", "value": 4}, {"field": "m_score", "op": "gte", "value": 4}],
    ),
    "spend": (
        "all",
        [
            {"field": "monetary", "op": "gte", "value": "10000", "days": 365},
            {"field": "region", "op": "in", "value": ["华东", "East"]},
        ],
    ),
    "any": (
        "any",
        [
            {"field": "tags", "op": "any", "value": ["vip", "tea"]},
            {"field": "monetary", "op": "gte", "value": "5000", "days": 90},
            {"field": "recency", "op": "lte", "value": 30},
        ],
    ),
    "everyone": ("all", []),
}


def _seed_sql(schema: str, accounts: int, orders: int) -> list[str]:
    s = f'"{schema}"'
    return [
        "SELECT setseed(0.42)",
        f"""INSERT INTO {s}.crm_accounts (kind, name, region, country, lifecycle_stage, tags,
                                          created_at, updated_at)
            SELECT CASE WHEN g % 5 = 0 THEN 'person' ELSE 'company' END, 'Bench account ' || g,
                   (ARRAY['华东', '华南', '华北', 'East', 'West'])[1 + g % 5],
                   (ARRAY['CN', 'TW', 'HK', 'SG'])[1 + g % 4],
                   (ARRAY['prospect', 'customer', 'customer', 'partner', 'churned'])[1 + g % 5],
                   CASE WHEN g % 7 = 0 THEN ARRAY['vip'] WHEN g % 11 = 0 THEN ARRAY['tea', 'wholesale']
                        ELSE ARRAY[]::varchar[] END,
                   now() - (g % 1100) * interval '1 day', now()
            FROM generate_series(1, {accounts}) AS g""",
        f"""INSERT INTO {s}.crm_sales_orders (number, account_id, status, currency, order_date, subtotal,
                   discount_total, tax_total, total, created_at, updated_at)
            SELECT 'SO-B-' || g, a.first + floor(random() * {accounts})::int,
                   (ARRAY['confirmed', 'fulfilled', 'invoiced', 'draft', 'cancelled'])[1 + g % 5],
                   CASE WHEN g % 50 = 0 THEN 'USD' ELSE 'CNY' END,
                   current_date - floor(random() * 730)::int, t.total, 0, 0, t.total, now(), now()
            FROM generate_series(1, {orders}) AS g,
                 LATERAL (SELECT round((random() * 20000)::numeric, 2) AS total) AS t,
                 (SELECT min(id) AS first FROM {s}.crm_accounts) AS a""",
        f"ANALYZE {s}.crm_accounts",
        f"ANALYZE {s}.crm_sales_orders",
    ]


async def _run(accounts: int, orders: int, runs: int) -> None:
    from sqlalchemy import func, select, text

    from app.crm.models import Segment, SegmentMember
    from app.crm.services import segments
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis
    from tenants.service import in_tenant

    try:
        [tenant] = await create_tenants(1, prefix="segbench")
        started = time.perf_counter()
        async with in_tenant(tenant.slug) as (session, _):
            for sql in _seed_sql(tenant.schema, accounts, orders):
                await session.execute(text(sql))
        out(f"seeded {accounts:,} accounts and {orders:,} orders in {time.perf_counter() - started:.1f} s")
        ids: dict[str, int] = {}
        async with in_tenant(tenant.slug) as (session, _):
            for name, (match, rules) in SEGMENTS.items():
                seg = Segment(name=name, match=match, rules=rules)
                session.add(seg)
                await session.flush()
                ids[name] = seg.id
        for name, seg_id in ids.items():
            inner, wall, members = [], [], 0
            for _ in range(runs):
                started = time.perf_counter()
                async with in_tenant(tenant.slug) as (session, _):
                    result = await segments.refresh_segment(session, seg_id)
                wall.append((time.perf_counter() - started) * 1000)
                inner.append(float(result.refresh_ms))
                members = result.member_count
            out(f"{name:9} {members:>6,} members  refresh_ms {summary_ms(inner)}")
            out(f"{'':9} {'':>6}          wall       {summary_ms(wall)}")
        async with in_tenant(tenant.slug) as (session, _):
            counted = await session.scalar(
                select(func.count())
                .select_from(SegmentMember)
                .where(SegmentMember.segment_id == ids["everyone"])
            )
            out(f"check: 'everyone' holds {counted:,} members (live accounts: {accounts:,})")
            match, rules = SEGMENTS["any"]
            started = time.perf_counter()
            count = await segments.preview_count(session, rules, match)
            took = (time.perf_counter() - started) * 1000
            out(f"preview count of 'any' while editing: {count:,} in {took:.0f} ms")
            await _explain(session, tenant.schema, ids["any"])
    finally:
        await close_database()
        await close_redis()


async def _explain(session, schema: str, segment_id: int) -> None:  # type: ignore[no-untyped-def]
    """EXPLAIN ANALYZE of the refresh's INSERT ... SELECT, with the same bound parameters."""
    from sqlalchemy import insert, literal, select

    from app.crm.models import Segment, SegmentMember
    from app.crm.services import segment_rules, segments

    seg = await session.get(Segment, segment_id)
    stats, where = segments.matching(segment_rules.rules_from_json(seg.rules), seg.match)
    source = select(literal(seg.id), stats.c.account_id, stats.c.recency, stats.c.frequency, stats.c.monetary,
                    stats.c.r_score, stats.c.f_score, stats.c.m_score).where(where)  # fmt: skip
    cols = [
        "segment_id",
        "account_id",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
    ]
    stmt = insert(SegmentMember).from_select(cols, source)
    conn = await session.connection()
    compiled = stmt.compile(
        dialect=conn.dialect, schema_translate_map={None: schema}, compile_kwargs={"render_postcompile": True}
    )
    sql = compiled.string.replace("__[SCHEMA__none]", f'"{schema}"')
    params = tuple(compiled.params[name] for name in compiled.positiontup or [])
    await conn.exec_driver_sql(segments.WORK_MEM)
    await conn.exec_driver_sql(f'DELETE FROM "{schema}".crm_segment_members WHERE segment_id = {seg.id}')
    rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    out("EXPLAIN (ANALYZE, BUFFERS) of the 'any' refresh INSERT:")
    for (line,) in rows.all():
        out("  " + line)
    await session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=5, help="refreshes per segment (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    header("CRM segment refresh")
    with scratch_database("segment_refresh", keep=args.keep) as url:
        out(f"shared schema migrated in {migrate_shared(url):.2f} s")
        asyncio.run(_run(args.accounts, args.orders, args.runs))


if __name__ == "__main__":
    main()
