"""Satisfaction surveys waiting for the customer's answer (CSAT 1–5, NPS 0–10), answered once."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Survey, Ticket
from app.crm.services import customer_portal as portal
from app.crm.services.portal_access import CustomerScope
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from portals.customer.support import BASE, PORTAL, customer, customer_for_record, page, portal_record
from portals.forms import viewer_tz
from portals.web import FormState, flash, form_data, redirect

SURVEYS = f"{BASE}/surveys"
ANSWERED_SHOWN = 20


async def _tickets_of(db: AsyncSession, surveys: list[Survey]) -> dict[int, Ticket]:
    ids = {s.ticket_id for s in surveys}
    if not ids:
        return {}
    return {t.id: t for t in (await db.execute(select(Ticket).where(Ticket.id.in_(ids)))).scalars()}


@get(SURVEYS, opt=PORTAL)
async def survey_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    me = await customer(request, db)
    waiting = list(
        (await db.execute(portal.waiting_surveys_query(me).order_by(Survey.created_at.desc()))).scalars()
    )
    answered_stmt = (
        portal.surveys_query(me)
        .where(Survey.answered_at.is_not(None))
        .order_by(Survey.answered_at.desc())
        .limit(ANSWERED_SHOWN)
    )
    answered = list((await db.execute(answered_stmt)).scalars())
    return page(
        request,
        "customer/surveys.html",
        me,
        waiting=waiting,
        answered=answered,
        tickets=await _tickets_of(db, waiting + answered),
        tz=viewer_tz(request),
    )


async def _form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    me: CustomerScope,
    survey: Survey,
    form: FormState,
    status: int = 200,
) -> Response[Any]:
    tickets = await _tickets_of(db, [survey])
    return page(
        request,
        "customer/survey.html",
        me,
        survey=survey,
        ticket=tickets.get(survey.ticket_id),
        form=form,
        status=status,
        tz=viewer_tz(request),
    )


@get(f"{SURVEYS}/{{survey_id:int}}", opt=portal_record("crm_portal_surveys"))
async def survey_page(
    request: Request[Any, Any, Any], db: DbSession, survey_id: FromPath[int]
) -> Response[Any]:
    me = await customer_for_record(request, db, lazy("survey"))
    return await _form(request, db, me, await portal.get_survey(db, me, survey_id), FormState())


@post(f"{SURVEYS}/{{survey_id:int}}", opt=portal_record("crm_portal_surveys"))
async def survey_answer(
    request: Request[Any, Any, Any], db: DbSession, survey_id: FromPath[int]
) -> Response[Any]:
    me = await customer_for_record(request, db, lazy("survey"))
    await portal.get_survey(db, me, survey_id)  # another account's survey: 404 before anything else
    form = await form_data(request)
    try:
        await portal.answer_customer_survey(db, me, survey_id, form)
    except DomainError as exc:
        await db.rollback()
        survey = await portal.get_survey(db, me, survey_id)
        return await _form(request, db, me, survey, FormState(form, exc), status=exc.status)
    flash(request, "success", i18n.gettext("Thank you for your feedback!"))
    return redirect(SURVEYS, request)


ROUTES: list[HTTPRouteHandler] = [survey_list, survey_page, survey_answer]
