"""Route-table tests: every route declares its permission, enforces it, and never reaches another
tenant's records — checked by walking the app's routes, so a new route is covered automatically.

* Each route declares ``opt["permission"]`` (a catalogue permission or PUBLIC/AUTHENTICATED/OPERATOR).
* A route with an id in its path declares ``opt["resource"]`` with a factory in tests/factories.py.
* With that id taken from tenant *globex*, tenant *acme*'s administrator (portal) or full-scope
  API client gets 404 — while globex's own administrator does not (the check can fail).
* A persona or API client without the permission gets 403; anonymous callers are sent to sign in.
* Lists and pages of acme never show a record created in globex.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from app.security.guards import declared_permission, is_auto_options
from app.security.permissions import CATALOGUE, CUSTOMER_PORTAL_USE, OPERATOR, PUBLIC, ROUTE_MARKERS
from tests.factories import FACTORIES
from tests.helpers import browser, http, signed_in
from tests.world import PERSONAS

PARAM_RE = re.compile(r"\{(\w+)(?::(\w+))?\}")
SKIP_PREFIXES = ("/static", "/schema")


def route_handlers(app: Any) -> list[tuple[str, str, Any]]:
    out = []
    for route in app.routes:
        if route.path.startswith(SKIP_PREFIXES):
            continue
        for handler in getattr(route, "route_handlers", []):
            if is_auto_options(handler):
                continue
            for method in sorted(getattr(handler, "http_methods", [])):
                if method == "HEAD":
                    continue
                out.append((method, route.path, handler))
    return out


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def fill(path: str, ident: int) -> str:
    return PARAM_RE.sub(lambda m: str(ident) if (m.group(2) or "int") == "int" else "x", path)


def has_params(path: str) -> bool:
    return bool(PARAM_RE.search(path))


def test_every_route_declares_a_known_permission(app):
    problems = []
    for method, path, handler in route_handlers(app):
        perm = declared_permission(handler)
        if perm is None:
            problems.append(f"{method} {path}: no permission")
        elif perm not in ROUTE_MARKERS and perm not in CATALOGUE:
            problems.append(f"{method} {path}: unknown permission {perm}")
    assert problems == []


def test_every_route_with_an_id_declares_a_resource_with_a_factory(app):
    problems = []
    for method, path, handler in route_handlers(app):
        if has_params(path) and declared_permission(handler) not in (PUBLIC,):
            resource = (handler.opt or {}).get("resource")
            if resource is None:
                problems.append(f"{method} {path}: no opt['resource']")
            elif resource not in FACTORIES:
                problems.append(f"{method} {path}: no factory for resource {resource!r}")
    assert problems == []


@pytest.fixture(scope="module")
async def disjoint_ids(world):
    """globex's identity sequences start far above acme's, so an id from globex never names an
    acme record by coincidence (which would hide a leak behind a 'success')."""
    from app.kernel.db import get_database

    schema = world["globex"].schema
    async with get_database().engine.begin() as conn:
        rows = await conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = :s AND is_identity = 'YES'"
            ),
            {"s": schema},
        )
        for table, column in rows.all():
            await conn.exec_driver_sql(
                f'ALTER TABLE "{schema}"."{table}" ALTER COLUMN "{column}" RESTART WITH 1000000'
            )
    return True


async def make(tenant, resource: str, marker: str) -> int:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, ref):
        return await FACTORIES[resource](session, ref, marker)


async def api_token(app, tenant, scopes: list[str]) -> str:
    from tenants.service import create_api_client

    issued = await create_api_client(tenant.slug, name="route test", scopes=scopes)
    async with http(app, tenant.host) as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, issued.client_secret),
        )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


ALL_SCOPES = CATALOGUE.keys()


async def test_ids_from_another_tenant_are_not_found(app, acme, globex, disjoint_ids):
    acme_token = await api_token(app, acme, ALL_SCOPES)
    globex_token = await api_token(app, globex, ALL_SCOPES)
    leaks, unproven = [], []
    async with (
        signed_in(app, acme, "ada") as admin_a,
        signed_in(app, globex, "ada") as admin_g,
        signed_in(app, acme, "carol") as customer_a,
        signed_in(app, globex, "carol") as customer_g,
    ):
        for b in (customer_a, customer_g):  # customers start at /portal: take a page's CSRF token
            await b.get("/profile")
        for method, path, handler in route_handlers(app):
            perm = declared_permission(handler)
            if not has_params(path) or perm in (PUBLIC, OPERATOR):
                continue
            # The customer portal is for customers only (no staff role holds its permission): its
            # factories make records of each tenant's carol, who walks these routes instead of ada.
            a, g = (customer_a, customer_g) if perm == CUSTOMER_PORTAL_USE else (admin_a, admin_g)
            resource = handler.opt["resource"]
            foreign_id = await make(globex, resource, f"iso-{uuid.uuid4().hex[:10]}")
            url = fill(path, foreign_id)
            if is_api(path):
                r = await a.client.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {acme_token}"},
                    json={} if method != "GET" else None,
                )
                own = await g.client.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {globex_token}"},
                    json={} if method != "GET" else None,
                )
            elif method == "GET":
                r, own = await a.get(url), await g.get(url)
            else:
                r, own = await a.post(url, {}), await g.post(url, {})
            if r.status_code != 404:
                leaks.append(f"{method} {path} as acme with globex id: {r.status_code}")
            if own.status_code == 404:
                unproven.append(f"{method} {path} as globex with its own id: 404")
    assert leaks == []
    assert unproven == []


def _lacking(permission: str) -> str:
    from app.security.roles import BUILTIN_ROLES, merge_grants

    for p in PERSONAS:
        grants = merge_grants(*(BUILTIN_ROLES[r].grants for r in p.roles))
        if permission not in grants:
            return p.key
    raise AssertionError(f"every persona holds {permission}")


async def test_routes_refuse_callers_without_the_permission(app, acme, disjoint_ids):
    problems = []
    tokens: dict[str, str] = {}
    for method, path, handler in route_handlers(app):
        perm = declared_permission(handler)
        if perm in ROUTE_MARKERS:
            continue
        ident = 1
        if has_params(path):
            ident = await make(acme, handler.opt["resource"], f"perm-{uuid.uuid4().hex[:10]}")
        url = fill(path, ident)
        if is_api(path):
            other = next(k for k in ALL_SCOPES if k != perm)
            tokens.setdefault(other, await api_token(app, acme, [other]))
            async with http(app, acme.host) as c:
                r = await c.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {tokens[other]}"},
                    json={} if method != "GET" else None,
                )
        else:
            async with signed_in(app, acme, _lacking(perm)) as b:
                r = await (b.get(url) if method == "GET" else b.post(url, {}))
        if r.status_code != 403:
            problems.append(f"{method} {path} without {perm}: {r.status_code}")
    assert problems == []


async def test_anonymous_callers_are_sent_to_sign_in(app, acme):
    problems = []
    async with browser(app, acme) as b:
        await b.get("/login")
        for method, path, handler in route_handlers(app):
            perm = declared_permission(handler)
            if perm in (PUBLIC, OPERATOR):
                continue
            url = fill(path, 1)
            if is_api(path):
                r = await b.client.request(method, url, json={} if method != "GET" else None)
                ok = r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
            else:
                r = await (b.get(url) if method == "GET" else b.post(url, {}))
                ok = r.status_code == 303 and r.headers["location"].startswith("/login")
            if not ok:
                problems.append(f"{method} {path}: {r.status_code}")
    assert problems == []


async def test_pages_and_lists_never_show_another_tenants_records(app, acme, globex, disjoint_ids):
    markers = []
    for resource in FACTORIES:
        marker = f"leak{uuid.uuid4().hex[:12]}"
        await make(globex, resource, marker)
        markers.append(marker)
    acme_token = await api_token(app, acme, ALL_SCOPES)
    globex_token = await api_token(app, globex, ALL_SCOPES)
    leaks, seen_by_owner = [], set()
    async with signed_in(app, acme, "ada") as a, signed_in(app, globex, "ada") as g:
        for method, path, handler in route_handlers(app):
            if method != "GET" or has_params(path) or declared_permission(handler) in (PUBLIC, OPERATOR):
                continue
            if is_api(path):
                r = await a.client.get(path, headers={"Authorization": f"Bearer {acme_token}"})
                own = await g.client.get(path, headers={"Authorization": f"Bearer {globex_token}"})
            else:
                r, own = await a.get(path), await g.get(path)
            leaks += [f"{path} shows {m}" for m in markers if m in r.text]
            seen_by_owner |= {m for m in markers if m in own.text}
    assert leaks == []
    assert seen_by_owner, "globex's own lists show none of its records: the check proves nothing"
