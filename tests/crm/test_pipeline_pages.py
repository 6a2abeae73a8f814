"""Query-count baselines of the pipeline pages (CRM-3/6): every page answers with a fixed number
of SQL statements, however many deals, columns or reps it shows. A page that starts issuing more
(an N+1 in a template, a lookup per row) fails here; lower a baseline when a page gets cheaper."""

from __future__ import annotations

import re

import pytest

from tests.crm.factories.pipeline import private_tenant, seed_pipeline, stage_ids
from tests.helpers import signed_in, sql_sent

# path → statements for ada (sees everything); 3 of them load the request's principal.
BASELINES = {
    "/sales/opportunities": 8,
    "/sales/opportunities?f_status=open&sort=amount&dir=desc": 8,
    "/sales/opportunities/export.csv": 8,
    "/sales/opportunities/new": 6,
    "/sales/opportunities/{deal}": 12,
    "/sales/opportunities/{deal}/edit": 8,
    "/sales/pipeline": 9,
    "/sales/forecast": 9,
    "/sales/performance": 11,
    "/sales/performance/export.csv": 9,
    "/sales/stages": 5,
    "/sales/stages/{stage}": 5,
}


@pytest.fixture(scope="module")
async def quanta(world):
    tenant = await private_tenant("quanta")
    tenant.deals = await seed_pipeline(tenant)  # type: ignore[attr-defined]
    return tenant


@pytest.mark.parametrize("path", list(BASELINES))
async def test_page_query_count_stays_at_its_baseline(app, quanta, path):
    url = path.format(deal=quanta.deals["100 台 A2 打印机"], stage=(await stage_ids(quanta))["proposal"])
    async with signed_in(app, quanta, "ada") as b:
        await b.get(url)  # warm: caches of the session, principal and statements
        with sql_sent() as statements:
            r = await b.get(url)
    assert r.status_code == 200, r.text[:2000]
    assert len(statements) <= BASELINES[path], "\n".join(statements)


async def test_pages_speak_the_readers_language(app, quanta):
    """Dates and money follow the reader's locale (here Simplified Chinese) on every page."""
    from sqlalchemy import update

    from app.security.models import User
    from tenants.service import in_tenant

    async with in_tenant(quanta.slug) as (session, _):
        await session.execute(update(User).where(User.id == quanta.users["sam"]).values(locale="zh_Hans"))
    try:
        async with signed_in(app, quanta, "sam") as b:
            board = await b.get("/sales/pipeline")
            fc = await b.get("/sales/forecast")
            for path in (
                "/sales/opportunities",
                "/sales/performance",
                f"/sales/opportunities/{quanta.deals['Label printers']}",
            ):
                assert (await b.get(path)).status_code == 200, path
    finally:
        async with in_tenant(quanta.slug) as (session, _):
            await session.execute(update(User).where(User.id == quanta.users["sam"]).values(locale=None))
    assert '<html lang="zh-Hans">' in board.text
    assert re.search(r'<span class="card-date[^"]*" title="[^"]*">\d{1,2}月\d{1,2}日</span>', board.text)
    assert "¥9,800.00" in board.text
    assert re.search(r"<th class=\"num\">20\d\d年\d{1,2}月</th>", fc.text)
