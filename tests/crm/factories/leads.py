"""Factories for the route-table tests: leads resources (tests/factories.py explains the contract),
and small builders the lead tests share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import AssignmentRule, Lead, WebForm
from tests.factories import factory


async def add_lead(session: AsyncSession, name: str, **values: Any) -> Lead:
    """A lead written directly (no rules, no events): the starting point of a test."""
    values.setdefault("email", f"{name.lower().replace(' ', '.')}@lead.example")
    lead = Lead(full_name=name, **values)
    session.add(lead)
    await session.flush()
    return lead


async def add_web_form(session: AsyncSession, name: str, **values: Any) -> WebForm:
    import secrets

    values.setdefault("key", secrets.token_urlsafe(12))
    form = WebForm(name=name, **values)
    session.add(form)
    await session.flush()
    return form


@factory("crm_leads")
async def make_lead(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.security.models import User

    admin = (await session.execute(select(User.id).order_by(User.id).limit(1))).scalar_one()
    lead = await add_lead(
        session, f"Lead {marker}", company=f"Co {marker}", owner_id=admin, status="qualified"
    )
    return lead.id


@factory("crm_web_forms")
async def make_web_form(session: AsyncSession, tenant: Any, marker: str) -> int:
    return (await add_web_form(session, f"Form {marker}")).id


@factory("crm_assignment_rules")
async def make_assignment_rule(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.security.models import User

    admin = (await session.execute(select(User.id).order_by(User.id).limit(1))).scalar_one()
    # A region nobody uses, so the rule never routes another test's leads.
    rule = AssignmentRule(name=f"Rule {marker}", match_regions=[marker], user_ids=[admin], position=9000)
    session.add(rule)
    await session.flush()
    return rule.id
