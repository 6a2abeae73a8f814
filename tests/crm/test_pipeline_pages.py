"""Every pipeline page renders for the people who use it (CRM-3/6)."""

from __future__ import annotations

import uuid

from tests.crm.factories.pipeline import new_account, new_deal, stage_ids
from tests.helpers import signed_in

PAGES = [
    "/sales/opportunities",
    "/sales/opportunities/new",
    "/sales/pipeline",
    "/sales/forecast",
    "/sales/performance",
]


async def test_pages_render_for_admin_rep_and_manager(app, acme):
    tag = uuid.uuid4().hex[:8]
    account = await new_account(acme, "alice", f"Smoke {tag}")
    deal = await new_deal(acme, "alice", account, name=f"Smoke deal {tag}", amount="1000")
    stages = await stage_ids(acme)
    for persona in ("ada", "alice", "sam"):
        async with signed_in(app, acme, persona) as b:
            for path in [*PAGES, f"/sales/opportunities/{deal}", f"/sales/opportunities/{deal}/edit"]:
                r = await b.get(path)
                open(f"/tmp/smoke/{persona}{path.replace('/', '_')}.html", "w").write(r.text)
                assert r.status_code == 200, (persona, path, r.text[:3000])
    async with signed_in(app, acme, "ada") as b:
        for path in ["/sales/stages", f"/sales/stages/{stages['proposal']}"]:
            r = await b.get(path)
            assert r.status_code == 200, (path, r.text[:3000])
