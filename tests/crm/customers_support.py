"""Helpers of the customer-master tests (CRM-1): unique names, accounts and contacts made by a
persona through the real services, so record rules and audit apply as in production."""

from __future__ import annotations

import uuid
from typing import Any

from app.crm.services import accounts, contacts
from tests.crm.support import acting_as
from tests.world import TenantWorld

CUSTOMER_TABLES = ("crm_accounts", "crm_contacts", "crm_activities", "audit_log", "idempotency_keys")


def mark(prefix: str = "m") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def phone_of(m: str, prefix: str = "139") -> tuple[str, str]:
    """A phone number unique to the marker, as typed and as its digits: ("139 1234 5678", "13912345678")."""
    d = str(int(m[1:], 16) % 10**8).zfill(8)
    return f"{prefix} {d[:4]} {d[4:]}", f"{prefix}{d}"


async def new_account(tenant: TenantWorld, persona: str = "alice", **values: Any) -> int:
    values.setdefault("name", f"Account {mark()}")
    async with acting_as(tenant, persona) as (session, principal):
        account = await accounts.create_account(session, principal, values)
        return account.id


async def new_contact(tenant: TenantWorld, account_id: int, persona: str = "alice", **values: Any) -> int:
    if not (values.get("first_name") or values.get("last_name")):
        values.setdefault("full_name", f"Person {mark()}")
    async with acting_as(tenant, persona) as (session, principal):
        contact = await contacts.create_contact(session, principal, {"account_id": account_id, **values})
        return contact.id
