"""Satisfaction surveys (CRM-11): closing a ticket creates its survey (credited to the agent and
team at closing) and mails the link through the worker and SMTP; the public page in the
customer's language; answered once; bad answers refused with nothing changed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.crm import events
from app.crm.errors import SurveyAlreadyAnswered
from app.crm.handlers.service import send_satisfaction_survey
from app.crm.models import Survey, Ticket
from app.crm.services import surveys, ticket_workflow, tickets
from app.kernel.errors import NotFound, ValidationFailed
from app.kernel.events import Event
from app.kernel.outbox import OutboxEvent
from tenants.service import in_tenant
from tests.crm.factories.service import add_account, add_contact
from tests.crm.support import acting_as, table_counts
from tests.helpers import browser
from tests.workers.conftest import link_in, mailbox, relay_all, text_of, wait_until, worker  # noqa: F401

TABLES = ("crm_surveys", "audit_log")


def marker() -> str:
    return uuid.uuid4().hex[:10]


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message.format(**e.params) for e in exc.value.errors}


async def _closed_ticket(tenant, email: str | None, *, language: str | None = None) -> Ticket:  # type: ignore[no-untyped-def]
    async with acting_as(tenant, "sue") as (s, sue):
        account = await add_account(
            s, f"Survey Co {marker()}", preferences={"language": language} if language else {}
        )
        contact = await add_contact(s, account, "Han Mei", email)
        t = await tickets.open_ticket(
            s, sue, {"subject": "Broken tray", "owner_id": sue.id}, channel="agent", account_id=account.id,
            contact_id=contact.id,
        )  # fmt: skip
        await ticket_workflow.set_status(s, sue, t, "closed")
        return t


def _event(ticket: Ticket) -> Event:
    return Event(
        event_id=uuid.uuid4(),
        topic=events.TICKET_CLOSED,
        tenant_id=None,
        payload={"ticket_id": ticket.id, "number": ticket.number, "owner_id": ticket.owner_id},
        created_at=datetime.now(UTC),
    )


async def _survey_of(ticket_id: int) -> Survey | None:
    async with in_tenant("acme") as (s, _):
        return (await s.execute(select(Survey).where(Survey.ticket_id == ticket_id))).scalar_one_or_none()


async def test_closing_mails_a_survey_link_that_is_answered_once(app, acme, mailbox, worker):  # noqa: F811
    email = f"hm.{marker()}@survey.example"
    t = await _closed_ticket(acme, email)
    await relay_all()
    msg = await mailbox.wait_for(email)
    survey = await wait_until(lambda: _survey_of(t.id))
    await wait_until(lambda: _sent(t.id))
    async with in_tenant(acme.slug) as (s, _):
        event = (
            await s.execute(
                select(OutboxEvent).where(
                    OutboxEvent.topic == events.TICKET_CLOSED,
                    OutboxEvent.payload["ticket_id"].as_integer() == t.id,
                )
            )
        ).scalar_one()
    assert msg["Message-ID"] == f"<{event.event_id}.survey@tessera.test>"
    assert msg["Subject"] == "How did we do? A quick question from Acme Ltd"
    assert f'Your request {t.number} "Broken tray" has been closed.' in text_of(msg)
    assert text_of(msg).startswith("Hello Han Mei,")
    assert link_in(msg) == f"http://acme.tessera.test/s/{survey.token}"
    assert len(survey.token) == 43
    assert (survey.owner_id, survey.team_id, survey.email, survey.answered_at) == (
        acme.users["sue"], acme.teams["Support"], email, None,
    )  # fmt: skip
    async with browser(app, acme) as b:
        page = await b.get(f"/s/{survey.token}")
        assert page.status_code == 200
        assert '<html lang="en">' in page.text
        assert t.number in page.text
        r = await b.post(f"/s/{survey.token}", {"csat": "4", "nps": "9", "comment": "  换得很快  "})
        assert r.status_code == 200
        assert "4 / 5" in r.text
        answered = await _survey_of(t.id)
        assert (answered.csat, answered.nps, answered.comment) == (4, 9, "换得很快")  # type: ignore[union-attr]
        before = await table_counts(acme, *TABLES)
        again = await b.post(f"/s/{survey.token}", {"csat": "1", "nps": "0", "comment": "changed my mind"})
        assert again.status_code == 409
        assert "This survey has already been answered. Thank you!" in again.text
        assert await table_counts(acme, *TABLES) == before
        assert (await b.get(f"/s/{'x' * 43}")).status_code == 404
    final = await _survey_of(t.id)
    assert (final.csat, final.nps, final.comment) == (4, 9, "换得很快")  # type: ignore[union-attr]


async def test_the_survey_speaks_the_customers_language(app, acme, mailbox, worker):  # noqa: F811
    email = f"zh.{marker()}@survey.example"
    t = await _closed_ticket(acme, email, language="zh_Hans")
    await relay_all()
    msg = await mailbox.wait_for(email)
    assert text_of(msg).startswith("Han Mei，您好：")  # the account's preferred language (zh_Hans)
    survey = await wait_until(lambda: _survey_of(t.id))
    async with browser(app, acme) as b:
        page = await b.get(f"/s/{survey.token}", headers={"Accept-Language": "en-GB"})
        assert '<html lang="zh-Hans">' in page.text  # the customer's language, not the browser's
        assert '<option value="zh_Hans" selected>' in page.text


async def _sent(ticket_id: int) -> bool:
    survey = await _survey_of(ticket_id)
    return survey is not None and survey.sent_at is not None


async def test_bad_answers_change_nothing(acme):
    t = await _closed_ticket(acme, None)
    async with in_tenant(acme.slug) as (s, _):
        await send_satisfaction_survey(_event(t), s)
    survey = await _survey_of(t.id)
    assert survey is not None
    assert (survey.email, survey.sent_at) == (None, None)  # no address: the portal shows it instead
    before = await table_counts(acme, *TABLES)
    for csat, nps, comment, expected in [
        (None, None, "", {"csat": "This field is required.", "nps": "This field is required."}),
        ("0", "11", "", {"csat": "Must be at least 1.", "nps": "Must be at most 10."}),
        ("6", "-1", "", {"csat": "Must be at most 5.", "nps": "Must be at least 0."}),
        ("great", "4.5", "x" * 2001, {"csat": "Enter a whole number.", "nps": "Enter a whole number.",
                                       "comment": "Use at most 2000 characters."}),
    ]:  # fmt: skip
        async with in_tenant(acme.slug) as (s, _):
            with pytest.raises(ValidationFailed) as exc:
                await surveys.answer_survey(
                    s, await surveys.survey_by_token(s, survey.token), csat=csat, nps=nps, comment=comment
                )
        assert errors_of(exc) == expected
    assert await table_counts(acme, *TABLES) == before
    async with in_tenant(acme.slug) as (s, _):
        done = await surveys.answer_survey(
            s, await surveys.survey_by_token(s, survey.token), csat=5, nps="10", comment=None
        )
        assert (done.csat, done.nps, done.comment) == (5, 10, "")
    async with in_tenant(acme.slug) as (s, _):
        with pytest.raises(SurveyAlreadyAnswered):
            await surveys.answer_survey(
                s, await surveys.survey_by_token(s, survey.token), csat=1, nps=1, comment=""
            )


async def test_a_ticket_is_surveyed_once_even_if_closed_again(acme):
    t = await _closed_ticket(acme, None)
    async with in_tenant(acme.slug) as (s, _):
        await send_satisfaction_survey(_event(t), s)
    async with in_tenant(acme.slug) as (s, _):
        before = await table_counts(acme, *TABLES)
        await send_satisfaction_survey(_event(t), s)
    assert await table_counts(acme, *TABLES) == before


async def test_the_public_page_refuses_bad_answers_with_422(app, acme):
    t = await _closed_ticket(acme, None)
    async with in_tenant(acme.slug) as (s, _):
        await send_satisfaction_survey(_event(t), s)
    survey = await _survey_of(t.id)
    assert survey is not None
    async with browser(app, acme) as b:
        page = await b.get(f"/s/{survey.token}")
        assert '<html lang="en">' in page.text  # the organisation's language when the customer has none
        before = await table_counts(acme, *TABLES)
        r = await b.post(f"/s/{survey.token}", {"csat": "9", "comment": ""})
        assert r.status_code == 422
        assert "Must be at most 5." in r.text
        assert "This field is required." in r.text
        assert await table_counts(acme, *TABLES) == before


async def test_tokens_and_pending_surveys_for_the_customer_portal(acme):
    t = await _closed_ticket(acme, None)
    async with in_tenant(acme.slug) as (s, _):
        await send_satisfaction_survey(_event(t), s)
        with pytest.raises(NotFound):
            await surveys.survey_by_token(s, "short")
        with pytest.raises(NotFound):
            await surveys.survey_by_token(s, "A" * 43)
        pending = await surveys.pending_surveys(s, t.account_id)  # type: ignore[arg-type]
        assert [(p.ticket_number, p.ticket_subject) for p in pending] == [(t.number, "Broken tray")]
        assert pending[0].path == f"/s/{pending[0].survey.token}"
        await surveys.answer_survey(s, pending[0].survey, csat=3, nps=7, comment="")
        assert await surveys.pending_surveys(s, t.account_id) == []  # type: ignore[arg-type]


async def test_two_answers_at_once_count_once(app, acme):
    import asyncio

    t = await _closed_ticket(acme, None)
    async with in_tenant(acme.slug) as (s, _):
        await send_satisfaction_survey(_event(t), s)
    survey = await _survey_of(t.id)
    assert survey is not None

    async def answer(csat: int) -> str:
        async with in_tenant(acme.slug) as (s, _):
            try:
                await surveys.answer_survey(
                    s, await surveys.survey_by_token(s, survey.token), csat=csat, nps=5, comment=""
                )
            except SurveyAlreadyAnswered:
                return "refused"
            return "answered"

    assert sorted(await asyncio.gather(answer(2), answer(5))) == ["answered", "refused"]
    stored = await _survey_of(t.id)
    assert stored is not None
    assert stored.csat in (2, 5)
