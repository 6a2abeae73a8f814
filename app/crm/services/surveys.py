"""Satisfaction surveys (CRM-11): one per closed ticket, answered once by link or in the portal.

    survey = await create_survey(session, ticket, seed=str(event.event_id))  # the closing handler
    survey = await survey_by_token(session, token)                            # /s/{token}; NotFound
    await answer_survey(session, survey, csat="5", nps="9", comment="师傅很专业")

The survey belongs to the agent and team who had the ticket when it closed (``owner_id``,
``team_id``), so results stay with the people who did the work. The token is the only key the
customer needs: 32 bytes from an HMAC of the closing event's id, so a retried closing handler
mails the same link, and nobody can guess one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import SurveyAlreadyAnswered
from app.crm.models import Contact, Survey, Ticket
from app.crm.services.fields import clean_int, clean_long_text
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.permissions import CRM_SURVEY_READ
from app.security.principal import Principal
from app.security.record_rules import restrict
from app.settings import get_settings

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
COMMENT_MAX = 2000


def survey_token(seed: str) -> str:
    key = hashlib.sha256(b"tessera/survey-token\0" + get_settings().secret_key.encode()).digest()
    digest = hmac.new(key, seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def survey_path(survey: Survey) -> str:
    return f"/s/{survey.token}"


async def create_survey(session: AsyncSession, ticket: Ticket, *, seed: str) -> Survey | None:
    """The closed ticket's survey, or None when it already has one (a re-opened, re-closed ticket
    is asked once)."""
    if await session.scalar(select(Survey.id).where(Survey.ticket_id == ticket.id)) is not None:
        return None
    email = ticket.requester_email
    if ticket.contact_id is not None:
        email = await session.scalar(select(Contact.email).where(Contact.id == ticket.contact_id)) or email
    async with audited(session, "crm.survey_created"):
        survey = Survey(
            ticket_id=ticket.id,
            account_id=ticket.account_id,
            contact_id=ticket.contact_id,
            email=email,
            token=survey_token(seed),
            owner_id=ticket.owner_id,
            team_id=ticket.team_id,
            created_at=utcnow(),
        )
        session.add(survey)
    return survey


async def survey_by_token(session: AsyncSession, token: str) -> Survey:
    if not _TOKEN_RE.match(token or ""):
        raise NotFound(lazy("survey"))
    survey = (await session.execute(select(Survey).where(Survey.token == token))).scalar_one_or_none()
    if survey is None:
        raise NotFound(lazy("survey"))
    return survey


async def answer_survey(
    session: AsyncSession, survey: Survey, *, csat: object, nps: object, comment: object
) -> Survey:
    """Record the customer's answer: CSAT 1–5 and NPS 0–10 required, a comment optional. A survey
    is answered once; the row is locked so two submissions at once cannot both count."""
    locked = (
        await session.execute(
            select(Survey)
            .where(Survey.id == survey.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if locked.answered_at is not None:
        raise SurveyAlreadyAnswered()
    errors: list[FieldError] = []
    score = clean_int(csat, "csat", errors, minimum=1, maximum=5)
    recommend = clean_int(nps, "nps", errors, minimum=0, maximum=10)
    text = clean_long_text(comment, "comment", errors, max_len=COMMENT_MAX)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.survey_answered"):
        locked.csat = score
        locked.nps = recommend
        locked.comment = text
        locked.answered_at = utcnow()
    return locked


@dataclass(frozen=True, slots=True)
class PendingSurvey:
    survey: Survey
    ticket_number: str
    ticket_subject: str

    @property
    def path(self) -> str:
        return survey_path(self.survey)


async def pending_surveys(session: AsyncSession, account_id: int) -> list[PendingSurvey]:
    """The customer account's unanswered surveys, newest first (the customer portal lists them)."""
    rows = await session.execute(
        select(Survey, Ticket.number, Ticket.subject)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(Survey.account_id == account_id, Survey.answered_at.is_(None))
        .order_by(Survey.created_at.desc(), Survey.id.desc())
    )
    return [PendingSurvey(s, number, subject) for s, number, subject in rows.all()]


async def survey_of_ticket(session: AsyncSession, principal: Principal, ticket_id: int) -> Survey | None:
    """The ticket's survey as staff may see it (crm.survey.read record rules), or None."""
    if not principal.can(CRM_SURVEY_READ):
        return None
    stmt = restrict(select(Survey).where(Survey.ticket_id == ticket_id), Survey, principal, CRM_SURVEY_READ)
    return (await session.execute(stmt)).scalar_one_or_none()
