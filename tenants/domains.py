"""Custom domains of a tenant (PLAT-1): ``crm.acme-corp.com`` routed to tenant ``acme``.

A domain is added unverified with a random token; the tenant publishes it as a DNS TXT record
(``_tessera-verify.<domain>`` = ``tessera-verify=<token>``) and an operator marks the domain
verified. Only verified domains route (tenants/routing.py), so nobody can claim a host they
do not control just by typing it in.

Out of scope for now: Tessera does not look the TXT record up itself — the operator checks it
(``dig TXT _tessera-verify.<domain>``) before marking the domain verified. The console says so.

These functions take the caller's session and never commit; the routing cache is dropped after
the caller's commit, so no request in this process can cache the old answer in between.
"""

from __future__ import annotations

import ipaddress
import re
import secrets

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.settings import get_settings
from tenants.models import Tenant, TenantDomain
from tenants.routing import directory

TXT_PREFIX = "_tessera-verify"
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainTaken(Conflict):
    def __init__(self, domain: str) -> None:
        super().__init__(
            "domain_taken", lazy("The domain {domain} is already in use."), params={"domain": domain}
        )


class DomainNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(lazy("domain"), code="domain_not_found")


def txt_record_name(domain: TenantDomain) -> str:
    return f"{TXT_PREFIX}.{domain.domain}"


def txt_record_value(domain: TenantDomain) -> str:
    return f"tessera-verify={domain.verification_token}"


def clean_domain(raw: str) -> str:
    """A lower-case host name of at least two labels, not an IP address and not under our own
    base domain (those hosts already belong to tenants by slug)."""
    domain = (raw or "").strip().lower().rstrip(".")
    problem = None
    if domain.startswith(("http://", "https://")) or "/" in domain or ":" in domain:
        problem = lazy("Enter only the host name, e.g. crm.example.com.")
    elif _is_ip(domain):
        problem = lazy("Enter a host name, not an IP address.")
    elif len(domain) > 253 or domain.count(".") < 1 or not all(_LABEL_RE.match(x) for x in domain.split(".")):
        problem = lazy("Enter a valid host name, e.g. crm.example.com.")
    else:
        base = get_settings().base_domain
        if domain == base or domain.endswith("." + base):
            problem = lazy("Addresses under {base} are given to tenants by their slug already.")
    if problem:
        raise ValidationFailed([FieldError("domain", problem, {"base": get_settings().base_domain})])
    return domain


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _refresh_routing_after_commit(session: AsyncSession) -> None:
    def _after_commit(_s: Session) -> None:
        directory.invalidate()

    event.listen(session.sync_session, "after_commit", _after_commit, once=True)


async def list_domains(session: AsyncSession, tenant_id: int) -> list[TenantDomain]:
    stmt = select(TenantDomain).where(TenantDomain.tenant_id == tenant_id).order_by(TenantDomain.domain)
    return list((await session.execute(stmt)).scalars())


async def _get(session: AsyncSession, tenant: Tenant, domain_id: int, *, lock: bool = False) -> TenantDomain:
    stmt = select(TenantDomain).where(TenantDomain.id == domain_id, TenantDomain.tenant_id == tenant.id)
    row = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if row is None:
        raise DomainNotFound()
    return row


async def find_domain(session: AsyncSession, tenant: Tenant, domain: str) -> TenantDomain:
    stmt = select(TenantDomain).where(
        TenantDomain.tenant_id == tenant.id, TenantDomain.domain == (domain or "").strip().lower().rstrip(".")
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise DomainNotFound()
    return row


async def add_domain(session: AsyncSession, tenant: Tenant, raw_domain: str) -> TenantDomain:
    """Register an unverified domain with a fresh TXT token (it routes nowhere until verified)."""
    domain = clean_domain(raw_domain)
    if tenant.status != "active":
        raise Conflict("tenant_not_active", "Domains can only be added to an active tenant.")
    if await session.scalar(select(func.count()).where(TenantDomain.domain == domain)):
        raise DomainTaken(domain)
    row = TenantDomain(tenant_id=tenant.id, domain=domain, verification_token=secrets.token_hex(16))
    try:
        async with session.begin_nested(), audited(session, "tenant.domain_added"):
            session.add(row)
    except IntegrityError as exc:  # added concurrently by someone else
        raise DomainTaken(domain) from exc
    return row


async def mark_verified(session: AsyncSession, tenant: Tenant, domain_id: int) -> TenantDomain:
    """The operator has seen the TXT record: the domain routes to the tenant from now on."""
    row = await _get(session, tenant, domain_id, lock=True)
    if row.verified_at is None:
        async with audited(session, "tenant.domain_verified"):
            row.verified_at = utcnow()
        _refresh_routing_after_commit(session)
    return row


async def remove_domain(session: AsyncSession, tenant: Tenant, domain_id: int) -> str:
    row = await _get(session, tenant, domain_id, lock=True)
    async with audited(session, "tenant.domain_removed"):
        await session.delete(row)
    _refresh_routing_after_commit(session)
    return row.domain
