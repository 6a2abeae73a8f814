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
