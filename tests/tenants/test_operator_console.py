"""The operator console on the platform host (PLAT-1/2/3/12): sign-in, the tenants table, creating
a tenant, its lifecycle, export, custom domains and the migrate-all report."""

from __future__ import annotations

import asyncio
import html
import io
import json
import re
import tarfile

from app.security.sessions import COOKIE_NAME
from tests.helpers import browser, http, login
from tests.tenants.console import console
from tests.tenants.support import (
    PENDING_REVISION,
    discard_tenant,
    platform_state,
    registry_row,
    rows,
    schema_exists,
    unique_slug,
    value,
)
from tests.world import BASE_DOMAIN, PASSWORD


def text_of(response) -> str:
    return html.unescape(response.text)


# --- signing in -----------------------------------------------------------------------------


async def test_the_console_is_only_on_the_platform_host_and_needs_an_operator(app, acme):
    async with browser(app, BASE_DOMAIN) as b:
        r = await b.get("/operator")
        assert r.status_code == 303
        assert r.headers["location"] == "/operator/login?next=/operator"
        assert (await b.get("/operator/tenants/acme")).headers["location"] == (
            "/operator/login?next=/operator/tenants/acme"
        )
    async with browser(app, acme) as b:
        assert (await b.get("/operator/login")).status_code == 404
        assert (await b.get("/operator")).status_code == 404


async def test_an_operator_signs_in_with_a_rotated_session_and_signs_out(app, operator_email):
    async with browser(app, BASE_DOMAIN) as b:
        page = await b.get("/operator/login")
        assert page.status_code == 200
        assert "Operator sign-in" in page.text
        before = b.client.cookies.get(COOKIE_NAME)
        r = await b.post("/operator/login", {"email": operator_email.upper(), "password": PASSWORD})
        assert r.status_code == 303
        assert r.headers["location"] == "/operator"
        after = b.client.cookies.get(COOKIE_NAME)
        assert after
        assert after != before
        home = await b.get("/operator")
        assert home.status_code == 200
        assert operator_email in home.text
        out = await b.post("/operator/logout")
        assert out.status_code == 303
        assert out.headers["location"] == "/operator/login"
        assert (await b.get("/operator")).status_code == 303
    assert await rows(
        "SELECT actor_kind, event FROM public.platform_audit_log WHERE entity_type = 'operators' "
        "AND event = 'operator.signed_in' AND after->>'last_login_at' IS NOT NULL AND entity_id = "
        "(SELECT id::text FROM public.operators WHERE email = :e)",
        e=operator_email,
    ) == [("operator", "operator.signed_in")]


async def test_sign_in_follows_next_only_inside_the_console(app, operator_email):
    async with browser(app, BASE_DOMAIN) as b:
        await b.get("/operator/login?next=/operator/migrations")
        r = await b.post(
            "/operator/login", {"email": operator_email, "password": PASSWORD, "next": "/operator/migrations"}
        )
        assert r.headers["location"] == "/operator/migrations"
    async with browser(app, BASE_DOMAIN) as b:
        await b.get("/operator/login")
        r = await b.post(
            "/operator/login", {"email": operator_email, "password": PASSWORD, "next": "//evil.example"}
        )
        assert r.headers["location"] == "/operator"


async def test_wrong_passwords_are_refused_then_throttled(app, operator_email):
    async with browser(app, BASE_DOMAIN) as b:
        await b.get("/operator/login")
        for _ in range(5):
            r = await b.post("/operator/login", {"email": operator_email, "password": "not the password"})
            assert r.status_code == 401
            assert "The e-mail address or password is not correct." in r.text
        r = await b.post("/operator/login", {"email": operator_email, "password": PASSWORD})
        assert r.status_code == 429
        assert "Too many failed sign-in attempts. Try again in 15 minutes." in r.text
        assert 0 < int(r.headers["retry-after"]) <= 900
        assert (await b.get("/operator")).status_code == 303


async def test_sign_in_without_the_csrf_token_is_refused(app, operator_email):
    async with browser(app, BASE_DOMAIN) as b:
        await b.get("/operator/login")
        r = await b.post("/operator/login", {"email": operator_email, "password": PASSWORD}, csrf=False)
        assert r.status_code == 403
        assert (await b.get("/operator")).status_code == 303


async def test_operator_and_tenant_sessions_never_cross_hosts(app, acme, operator_email):
    async with console(app, operator_email) as ops:
        sid = ops.client.cookies.get(COOKIE_NAME)
    async with browser(app, acme) as b:  # an operator cookie replayed on a tenant host is nobody
        b.client.cookies.set(COOKIE_NAME, sid)
        assert (await b.get("/")).status_code == 303
    async with browser(app, acme) as b:
        await login(b, acme.email("ada"))
        tenant_sid = b.client.cookies.get(COOKIE_NAME)
    async with browser(app, BASE_DOMAIN) as b:  # and a tenant admin's cookie is no operator
        b.client.cookies.set(COOKIE_NAME, tenant_sid)
        assert (await b.get("/operator")).status_code == 303


# --- the tenants table and creating a tenant -----------------------------------------------


async def test_the_tenants_table_searches_and_filters_by_status(app, make_tenant, operator_email):
    from tenants.service import suspend_tenant

    calm, paused = await make_tenant("tbl"), await make_tenant("tbl")
    await suspend_tenant(paused.slug, "test")
    async with console(app, operator_email) as ops:
        page = await ops.get(f"/operator?q={calm.slug}")
        assert f"/operator/tenants/{calm.slug}" in page.text
        assert f"/operator/tenants/{paused.slug}" not in page.text
        assert "1–1 of 1" in page.text
        suspended = await ops.get("/operator?f_status=suspended&q=tbl-")
        assert f"/operator/tenants/{paused.slug}" in suspended.text
        assert f"/operator/tenants/{calm.slug}" not in suspended.text
        fragment = await ops.htmx("GET", f"/operator?q={paused.slug}")
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        assert "Suspended" in fragment.text


async def test_creating_a_tenant_without_a_password_shows_the_set_password_link(app, operator_email):
    slug = unique_slug("new")
    try:
        async with console(app, operator_email) as ops:
            r = await ops.post(
                "/operator/tenants",
                {
                    "slug": slug,
                    "name": "Newco 新公司",
                    "admin_email": f"Boss@{slug}.example",
                    "admin_name": "",
                    "admin_password": "",
                    "locale": "zh_Hans",
                    "timezone": "Asia/Shanghai",
                    "currency": "cny",
                    "edition": "hospital",
                },
            )
            assert r.status_code == 200
            link = re.search(r'id="set-password-link">([^<]+)<', r.text).group(1)
            assert link.startswith(f"http://{slug}.{BASE_DOMAIN}/password/reset?token=")
        assert await rows(
            "SELECT name, status, edition, locale, currency FROM public.tenants WHERE slug = :s", s=slug
        ) == [("Newco 新公司", "active", "hospital", "zh_Hans", "CNY")]
        async with http(app, f"{slug}.{BASE_DOMAIN}") as c:
            reset = await c.get(link.split(BASE_DOMAIN, 1)[1])
        assert reset.status_code == 200
        assert f"boss@{slug}.example" in reset.text
    finally:
        await discard_tenant(slug)


async def test_creating_a_tenant_with_bad_fields_or_a_taken_slug_creates_nothing(app, acme, operator_email):
    async with console(app, operator_email) as ops:
        before = await platform_state()
        r = await ops.post(
            "/operator/tenants",
            {
                "slug": "www",
                "name": "",
                "admin_email": "nobody",
                "locale": "en",
                "timezone": "Mars/Base",
                "currency": "CNY",
                "edition": "enterprise",
            },
        )
        assert r.status_code == 422
        for message in (
            "This address is reserved; choose another.",
            "Enter the organisation&#39;s name",
            "Enter a valid e-mail address.",
            "Choose a valid time zone.",
        ):
            assert message in r.text
        assert 'value="Mars/Base"' in r.text  # what was typed is kept
        taken = await ops.post(
            "/operator/tenants",
            {
                "slug": "acme",
                "name": "Acme again",
                "admin_email": "x@acme.example",
                "locale": "en",
                "timezone": "UTC",
                "currency": "CNY",
                "edition": "enterprise",
            },
        )
        assert taken.status_code == 409
        assert "The address acme is already taken." in taken.text
        assert await platform_state() == before


# --- lifecycle from the tenant's page --------------------------------------------------------


async def test_suspend_resume_delete_and_purge_from_the_tenant_page(app, make_tenant, operator_email):
    tenant = await make_tenant("life")
    path = f"/operator/tenants/{tenant.slug}"
    async with console(app, operator_email) as ops:
        r = await ops.post(f"{path}/suspend", {"reason": "Unpaid invoice 2026-11"})
        assert r.status_code == 303
        page = text_of(await ops.get(path))
        assert "Tenant " + tenant.slug + " suspended" in page
        assert "Reason: Unpaid invoice 2026-11" in page
        assert await registry_row(tenant.slug) == (
            tenant.id,
            "suspended",
            await value("SELECT schema_revision FROM public.tenants WHERE id = :i", i=tenant.id),
        )

        await ops.post(f"{path}/resume")
        assert (await registry_row(tenant.slug))[1] == "active"
        await ops.post(f"{path}/delete")
        assert (await registry_row(tenant.slug))[1] == "deleted"

        refused = await ops.post(f"{path}/purge", {"confirm_slug": ""})
        assert refused.headers["location"] == path
        assert "The tenant is in its grace period until" in text_of(await ops.get(path))
        wrong = await ops.post(f"{path}/purge", {"confirm_slug": tenant.slug + "x"})
        assert wrong.headers["location"] == path
        assert "The slug you typed does not match; nothing was purged." in text_of(await ops.get(path))
        assert await schema_exists(tenant.schema)

        done = await ops.post(f"{path}/purge", {"confirm_slug": tenant.slug})
        assert done.headers["location"] == "/operator"
        assert f"Tenant {tenant.slug} purged" in text_of(await ops.get("/operator"))
        assert not await schema_exists(tenant.schema)
        tombstone = await ops.get(f"/operator/tenants/purged~{tenant.id}~{tenant.slug}")
        assert tombstone.status_code == 200
        trail = text_of(tombstone)
        for event in ("tenant.suspended", "tenant.resumed", "tenant.deleted", "tenant.purged"):
            assert event in trail
    assert await rows(
        "SELECT event, actor_kind, actor_label FROM public.platform_audit_log WHERE entity_type = 'tenants' "
        "AND entity_id = :i AND event IS NOT NULL ORDER BY id",
        i=str(tenant.id),
    ) == [
        (e, "operator", operator_email)
        for e in ("tenant.suspended", "tenant.resumed", "tenant.deleted", "tenant.purged")
    ]


async def test_lifecycle_actions_on_an_unknown_tenant_are_404(app, operator_email):
    async with console(app, operator_email) as ops:
        assert (await ops.get("/operator/tenants/no-such-tenant")).status_code == 404
        r = await ops.post("/operator/tenants/no-such-tenant/suspend", {"reason": ""})
        assert r.status_code == 303
        assert "The tenant no-such-tenant was not found." in text_of(await ops.get("/operator"))


async def test_export_downloads_a_restorable_archive_and_is_audited(app, make_tenant, operator_email):
    tenant = await make_tenant("dl")
    async with console(app, operator_email) as ops:
        r = await ops.post(f"/operator/tenants/{tenant.slug}/export")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/gzip"
    assert re.fullmatch(
        rf'attachment; filename="{tenant.slug}-\d{{8}}T\d{{6}}Z\.tar\.gz"', r.headers["content-disposition"]
    )
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert (manifest["slug"], manifest["row_counts"]["users"]) == (tenant.slug, 1)
    assert await rows(
        "SELECT actor_kind, actor_label FROM public.platform_audit_log WHERE event = 'tenant.exported' "
        "AND entity_id = :i",
        i=str(tenant.id),
    ) == [("operator", operator_email)]


# --- custom domains --------------------------------------------------------------------------


async def test_a_custom_domain_routes_only_once_verified(app, make_tenant, operator_email):
    tenant, other = await make_tenant("dom"), await make_tenant("dom")
    domain = f"crm.{tenant.slug}.example.com"
    path = f"/operator/tenants/{tenant.slug}"
    async with console(app, operator_email) as ops:
        bad = await ops.post(f"{path}/domains", {"domain": "https://crm.example.com/x"})
        assert bad.status_code == 422
        assert "Enter only the host name, e.g. crm.example.com." in bad.text
        ours = await ops.post(f"{path}/domains", {"domain": f"{tenant.slug}.{BASE_DOMAIN}"})
        assert ours.status_code == 422
        assert f"Addresses under {BASE_DOMAIN} are given to tenants by their slug already." in ours.text

        assert (await ops.post(f"{path}/domains", {"domain": domain.upper() + "."})).status_code == 303
        token = await value(
            "SELECT verification_token FROM public.tenant_domains WHERE domain = :d", d=domain
        )
        page = text_of(await ops.get(path))
        assert f"_tessera-verify.{domain}" in page
        assert f"tessera-verify={token}" in page
        assert "Tessera does not look the record up itself." in page
        async with browser(app, domain) as visitor:
            assert (await visitor.get("/login")).status_code == 404  # not verified: routes nowhere

        taken = await ops.post(f"/operator/tenants/{other.slug}/domains", {"domain": domain})
        assert taken.status_code == 409
        assert f"The domain {domain} is already in use." in taken.text

        domain_id = await value("SELECT id FROM public.tenant_domains WHERE domain = :d", d=domain)
        await ops.post(f"{path}/domains/verify", {"domain_id": str(domain_id)})
        async with browser(app, domain) as visitor:
            await login(visitor, tenant.email("ada"))
            assert (await visitor.get("/")).status_code == 200

        foreign = await ops.post(
            f"/operator/tenants/{other.slug}/domains/remove", {"domain_id": str(domain_id)}
        )
        assert foreign.status_code == 404  # a domain id of another tenant is not found there
        await ops.post(f"{path}/domains/remove", {"domain_id": str(domain_id)})
        async with browser(app, domain) as visitor:
            assert (await visitor.get("/login")).status_code == 404
        trail = text_of(await ops.get(path))
        for event in ("tenant.domain_added", "tenant.domain_verified", "tenant.domain_removed"):
            assert event in trail


# --- the migrate-all report ------------------------------------------------------------------


async def test_the_migration_report_shows_runs_and_failures(
    app, make_tenant, operator_email, pending_migration
):
    from tenants.migrations import migrate_all

    good, bad = await make_tenant("rep"), await make_tenant("rep")
    pending_migration()
    from app.kernel.db import get_database

    async with get_database().engine.begin() as conn:
        await conn.exec_driver_sql(f"UPDATE \"{bad.schema}\".alembic_version SET version_num = 'tbroken'")
    report = await asyncio.to_thread(
        migrate_all, slugs=[good.slug, bad.slug], parallelism=1, include_shared=False
    )
    assert not report.ok
    async with console(app, operator_email) as ops:
        page = text_of(await ops.get("/operator/migrations"))
        assert f"Run {report.run_id[:8]}" in page  # the latest run is shown
        assert "Can't locate revision identified by 'tbroken'" in page
        assert f"/operator/tenants/{bad.slug}" in page
        failed = await ops.get("/operator?f_schema=failed")
        assert f"/operator/tenants/{bad.slug}" in failed.text
        assert f"/operator/tenants/{good.slug}" not in failed.text
        detail = text_of(await ops.get(f"/operator/tenants/{bad.slug}"))
        assert "Can't locate revision identified by 'tbroken'" in detail
        assert (await ops.get(f"/operator/migrations?run={report.run_id}")).status_code == 200
    assert f"Tenants at head ({PENDING_REVISION})" in page


async def test_a_deactivated_operator_is_signed_out_at_once(app, world):
    from sqlalchemy import update

    from app.kernel.db import get_database
    from tenants.models import Operator
    from tenants.operators import create_operator

    op = await create_operator(email="leaving.op@tessera.example", full_name="Leaving Op", password=PASSWORD)
    async with console(app, "leaving.op@tessera.example") as b:
        assert (await b.get("/operator")).status_code == 200
        async with get_database().shared_session() as s:
            await s.execute(update(Operator).where(Operator.id == op.id).values(is_active=False))
            await s.commit()
        r = await b.get("/operator")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/operator/login")
