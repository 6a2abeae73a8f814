"""Query-count baselines of the CRM pages (STYLE.md, after NetBox): every GET page of the sales,
marketing, service, customer-master and customer portals is requested and the SQL statements it
issues are counted.

* A page issuing more statements than its committed baseline (``query_counts.json``) fails —
  a new N+1 or an extra round trip is caught in review, not in production.
* A list page must issue the same number of statements however many rows it shows: each page is
  counted, more records of every kind are created, and it is counted again.
* Each page is read by the administrator and by a sales rep (whose record rules add queries), the
  customer portal by a customer, on a tenant filled by the CRM demo seeder.
* A page without a baseline fails too, and so does a baselined page that stops answering 200.
  Record or lower baselines deliberately with
  ``UPDATE_QUERY_COUNTS=1 python3 dev.py test tests/crm/test_query_counts.py`` and commit the file.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from app.security.guards import declared_permission
from app.security.permissions import CUSTOMER_PORTAL_USE, PUBLIC
from tenants import routing
from tests.crm.demo_support import seeded_world_tenant
from tests.factories import FACTORIES
from tests.helpers import signed_in, sql_sent
from tests.test_routes import fill, has_params, route_handlers

BASELINE = Path(__file__).with_name("query_counts.json")
PREFIXES = ("/crm", "/sales", "/marketing", "/service", "/portal")


def crm_pages(app: Any) -> list[tuple[str, Any]]:
    pages = []
    for method, path, handler in route_handlers(app):
        if method != "GET" or not path.startswith(PREFIXES):
            continue
        if declared_permission(handler) == PUBLIC or path.endswith((".csv", ".gif")):
            continue
        if has_params(path) and not handler.opt.get("resource"):
            continue
        pages.append((path, handler))
    return sorted(pages, key=lambda p: p[0])


async def make(tenant: Any, resource: str) -> int:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, ref):
        return await FACTORIES[resource](session, ref, f"qc{uuid.uuid4().hex[:8]}")


async def measure(app: Any, tenant: Any, pages: list[tuple[str, Any]], ids: dict[str, int]) -> dict[str, int]:
    """Statements per page that answers 200: as the administrator (every record), as a sales rep
    (their own records: the record rules' queries) and, for the customer portal, as the customer."""
    counts: dict[str, int] = {}
    async with (
        signed_in(app, tenant, "ada") as admin,
        signed_in(app, tenant, "alice") as rep,
        signed_in(app, tenant, "carol") as customer,
    ):
        for path, handler in pages:
            url = fill(path, ids[path]) if path in ids else path
            if declared_permission(handler) == CUSTOMER_PORTAL_USE:
                readers = [("", customer)]
            else:
                readers = [("", admin), (" as a rep", rep)]
            for suffix, who in readers:
                with sql_sent() as statements:
                    r = await who.get(url)
                if r.status_code == 200:
                    counts[f"GET {path}{suffix}"] = len(statements)
    return counts


async def test_pages_issue_no_more_queries_than_their_baseline(app, world, monkeypatch):
    # The host → tenant directory is cached per process and refreshed every few seconds when no
    # NOTIFY listener runs (as in tests): its lookups are not a page's work, so keep it warm.
    monkeypatch.setattr(routing, "FALLBACK_TTL", 3600.0)
    # A tenant filled by the CRM demo seeder, so every card, chart and column has data (a page
    # that reads more when there is something to show is counted doing it), the same in a run of
    # this file alone and in the whole suite.
    tenant = await seeded_world_tenant()
    pages = crm_pages(app)
    ids = {path: await make(tenant, handler.opt["resource"]) for path, handler in pages if has_params(path)}
    first = await measure(app, tenant, pages, ids)
    for resource in FACTORIES:  # more rows of every kind: list pages must not issue more queries
        if resource in ("tenants",):
            continue
        for _ in range(3):
            await make(tenant, resource)
    second = await measure(app, tenant, pages, ids)

    assert len(first) >= 80, f"only {len(first)} CRM pages answered 200: the check would prove little"
    grew = {page: (first[page], second.get(page)) for page in first if second.get(page) != first[page]}
    assert grew == {}, f"pages whose query count depends on the number of rows (N+1): {grew}"

    if os.environ.get("UPDATE_QUERY_COUNTS") == "1":
        BASELINE.write_text(json.dumps(dict(sorted(first.items())), indent=2, ensure_ascii=False) + "\n")
    baseline: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    missing = sorted(set(first) - set(baseline))
    assert missing == [], f"pages without a committed baseline (set UPDATE_QUERY_COUNTS=1): {missing}"
    gone = sorted(set(baseline) - set(first))
    assert gone == [], f"pages with a baseline that no longer answer 200 (or were removed): {gone}"
    worse = {page: (baseline[page], n) for page, n in first.items() if n > baseline[page]}
    assert worse == {}, f"pages issuing more queries than their baseline (baseline, now): {worse}"
