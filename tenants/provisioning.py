"""Provisioning a tenant (PLAT-1): registry row, schema, full tenant DDL, roles and first admin —
in ONE transaction. PostgreSQL DDL is transactional, so a failure at any step leaves no schema
and no registry row, and simply running it again is safe.

Speed: a sign-up normally claims a *spare* schema the platform keeps ready at the tenant head
and renames it (tenants/spares.py) — constant time however many tables the suite grows. When
none is ready, the tenant track is replayed from a pre-rendered SQL script
(``tenant_ddl_script``, built once per process from the Alembic history) sent in a single round
trip, rather than running Alembic online.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from zoneinfo import available_timezones

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.finance import interface as finance
from app.kernel import context
from app.kernel.context import Actor
from app.kernel.db import TENANT_SCHEMA_PREFIX, utcnow, validate_schema_name
from app.kernel.errors import Conflict, FieldError, ValidationFailed
from app.kernel.i18n import LOCALES, lazy
from app.kernel.outbox import publish
from app.security.passwords import password_problems
from app.security.services.setup import seed_tenant_security
from tenants.migrations import head, tenant_ddl_script
from tenants.models import Tenant
from tenants.routing import directory
from tenants.spares import SPARE_CLAIMED, claim_spare, run_tenant_script

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "app",
        "admin",
        "operator",
        "ops",
        "static",
        "assets",
        "cdn",
        "mail",
        "smtp",
        "imap",
        "auth",
        "login",
        "signup",
        "status",
        "docs",
        "help",
        "support",
        "billing",
        "tessera",
        "public",
        "template",
        "schema",
        "system",
        "root",
        "metrics",
        "health",
        "ready",
    }
)
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
EDITIONS = ("enterprise", "hospital")


@dataclass(frozen=True)
class ProvisionRequest:
    slug: str
    name: str
    admin_email: str
    admin_password: str | None = None
    admin_name: str | None = None
    locale: str = "en"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    edition: str = "enterprise"
    chart: str | None = None  # the books' chart of accounts: "cas" / "ifrs" (None: by locale)


@dataclass(frozen=True)
class Provisioned:
    tenant_id: int
    slug: str
    schema: str
    admin_user_id: int
    set_password_token: str | None
    tables: int
    elapsed_ms: float
    used_spare: bool = False  # a ready schema was renamed (tenants/spares.py) instead of built


def schema_for(slug: str) -> str:
    return validate_schema_name(TENANT_SCHEMA_PREFIX + slug.replace("-", "_"))


def validate(req: ProvisionRequest) -> None:
    errors: list[FieldError] = []
    if not SLUG_RE.match(req.slug or ""):
        errors.append(
            FieldError("slug", "Use 3–40 lower-case letters, digits or hyphens, starting with a letter.")
        )
    elif req.slug in RESERVED_SLUGS or "--" in req.slug:
        errors.append(FieldError("slug", "This address is reserved; choose another."))
    if not (req.name or "").strip() or len(req.name) > 200:
        errors.append(FieldError("name", "Enter the organisation's name (at most 200 characters)."))
    if not EMAIL_RE.match((req.admin_email or "").strip()):
        errors.append(FieldError("admin_email", "Enter a valid e-mail address."))
    if req.admin_password is not None:
        errors += password_problems(req.admin_password, "admin_password")
    if req.locale not in LOCALES:
        errors.append(FieldError("locale", "Choose one of the supported languages."))
    if req.timezone not in available_timezones():
        errors.append(FieldError("timezone", "Choose a valid time zone."))
    if not CURRENCY_RE.match(req.currency or ""):
        errors.append(FieldError("currency", "Use a three-letter ISO 4217 currency code."))
    if req.edition not in EDITIONS:
        errors.append(FieldError("edition", "Choose enterprise or hospital."))
    if req.chart is not None and req.chart not in finance.CHART_TEMPLATES:
        errors.append(FieldError("chart", "Choose a chart of accounts."))
    if errors:
        raise ValidationFailed(errors)


class SlugTaken(Conflict):
    def __init__(self, slug: str) -> None:
        super().__init__(
            "tenant_slug_taken", lazy("The address {slug} is already taken."), params={"slug": slug}
        )


async def provision_tenant(engine: AsyncEngine, req: ProvisionRequest) -> Provisioned:
    validate(req)
    started = time.perf_counter()
    schema = schema_for(req.slug)
    revision = head("tenant")
    try:
        async with engine.begin() as conn:
            taken = await conn.scalar(select(Tenant.id).where(Tenant.slug == req.slug))
            if taken is not None:
                raise SlugTaken(req.slug)
            shared = AsyncSession(bind=conn, info={})
            with context.bound(
                actor=context.current().actor
                if context.current().actor.kind != "anonymous"
                else Actor.system("provisioning")
            ):
                tenant = Tenant(
                    slug=req.slug,
                    name=req.name.strip(),
                    schema_name=schema,
                    status="active",
                    edition=req.edition,
                    locale=req.locale,
                    timezone=req.timezone,
                    currency=req.currency,
                    schema_revision=revision,
                    migrated_at=utcnow(),
                )
                shared.add(tenant)
                await shared.flush()
                used_spare = await claim_spare(conn, schema)
                if used_spare:  # its replacement is built at once, after this commits
                    await publish(shared, SPARE_CLAIMED, {"schema": schema}, tenant_id=tenant.id)
                    await shared.flush()
                else:
                    await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
                    await run_tenant_script(conn, schema, tenant_ddl_script())
                tenant_conn = await conn.execution_options(schema_translate_map={None: schema})
                tenant_session = AsyncSession(bind=tenant_conn, info={"tenant_schema": schema})
                ref = context.TenantRef(id=tenant.id, slug=tenant.slug, schema=schema, name=tenant.name)
                with context.bound(tenant=ref):
                    seeded = await seed_tenant_security(
                        tenant_session,
                        admin_email=req.admin_email,
                        admin_name=req.admin_name or req.admin_email.split("@")[0],
                        admin_password=req.admin_password,
                        locale=req.locale,
                    )
                    # Chart templates are chosen at tenant set-up (issue 4): the books exist from the
                    # start, so no finance page or API call ever has to write to install them.
                    await finance.set_up_books(
                        tenant_session,
                        req.chart or finance.default_chart(req.locale),
                        currency=req.currency,
                    )
                    await tenant_session.flush()
            tables = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            )
    except IntegrityError as exc:  # a concurrent sign-up took the slug between check and insert
        if "tenants_slug" in str(exc.orig) or "tenants_schema_name" in str(exc.orig):
            raise SlugTaken(req.slug) from exc
        raise
    directory.invalidate()  # this process may have cached the host as unknown (a purged slug re-used)
    return Provisioned(
        tenant_id=tenant.id,
        slug=tenant.slug,
        schema=schema,
        admin_user_id=seeded.user.id,
        set_password_token=seeded.set_password_token,
        tables=int(tables or 0),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        used_spare=used_spare,
    )
