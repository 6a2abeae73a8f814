"""Satisfaction results per agent and team (Service › Satisfaction), and the public survey page
``/s/{token}`` the closing e-mail links to (no sign-in: the token is the key)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import SurveyAlreadyAnswered
from app.crm.models import Survey, Ticket
from app.crm.services import satisfaction, surveys
from app.crm.services.ticket_notices import customer_locale
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_SURVEY_READ, PUBLIC
from portals.exports import csv_download
from portals.forms import viewer_tz
from portals.nav import NavItem, register
from portals.service.common import SECTION
from portals.web import FormState, form_data, perm, principal, render, session

BASE = "/service/satisfaction"
DEFAULT_DAYS = 30

register(NavItem(SECTION, lazy("Satisfaction"), BASE, CRM_SURVEY_READ, icon="star", order=40))


def _period(params: Any, tz: str) -> tuple[date, date, list[FieldError]]:
    """The period's first and last day (inclusive), from ?from=&to= or the last 30 days."""
    today = datetime.now(ZoneInfo(tz)).date()
    errors: list[FieldError] = []
    days = {}
    for key, default in (("from", today - timedelta(days=DEFAULT_DAYS - 1)), ("to", today)):
        raw = str(params.get(key) or "").strip()
        try:
            days[key] = date.fromisoformat(raw) if raw else default
        except ValueError:
            errors.append(FieldError(key, "Enter a date as YYYY-MM-DD."))
            days[key] = default
    if days["from"] > days["to"]:
        errors.append(FieldError("to", "The end of the period cannot be before its start."))
        days["from"], days["to"] = today - timedelta(days=DEFAULT_DAYS - 1), today
    return days["from"], days["to"], errors


def _chart(rows: list[satisfaction.Scores]) -> str:
    """The chart's data for service.js (a data attribute: no inline script under the CSP)."""
    answered = [r for r in rows if r.responses]
    return json.dumps(
        {
            "labels": [r.label for r in answered],
            "series": [
                {
                    "label": i18n.gettext("Satisfied (CSAT 4–5)"),
                    "values": [float(r.csat_percent or 0) * 100 for r in answered],
                },
                {"label": i18n.gettext("NPS"), "values": [float(r.nps or 0) for r in answered]},
            ],
        },
        ensure_ascii=False,
    )


def _bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the period's days in the reader's time zone."""
    return (
        datetime.combine(first, time.min, ZoneInfo(tz)),
        datetime.combine(last + timedelta(days=1), time.min, ZoneInfo(tz)),
    )


@get(BASE, opt=perm(CRM_SURVEY_READ))
async def satisfaction_results(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    tz = viewer_tz(request)
    first, last, errors = _period(request.query_params, tz)
    start, end = _bounds(first, last, tz)
    p = principal(request)
    results = await satisfaction.satisfaction_results(db, p, start, end)
    return render(
        request,
        "service/satisfaction.html",
        status=422 if errors else 200,
        form=FormState(
            {"from": first.isoformat(), "to": last.isoformat()}, ValidationFailed(errors) if errors else None
        ),
        results=results,
        comments=await satisfaction.recent_comments(db, p, start, end),
        chart=_chart(results.by_agent),
        first=first,
        last=last,
        tz=tz,
        export_url=f"{BASE}/export.csv?{urlencode({'from': first.isoformat(), 'to': last.isoformat()})}",
    )


EXPORT_HEADERS = (
    lazy("Scope"),
    lazy("Name"),
    lazy("Surveys"),
    lazy("Responses"),
    lazy("Response rate (%)"),
    lazy("Average CSAT"),
    lazy("Satisfied, CSAT 4–5 (%)"),
    lazy("NPS"),
)


def _pct(value: Decimal | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _export_row(scope: str, s: satisfaction.Scores) -> list[Any]:
    return [
        i18n.gettext(scope),
        s.label,
        s.surveys,
        s.responses,
        _pct(s.response_rate),
        "" if s.average_csat is None else f"{s.average_csat:.2f}",
        _pct(s.csat_percent),
        "" if s.nps is None else f"{s.nps:.1f}",
    ]


@get(f"{BASE}/export.csv", opt=perm(CRM_SURVEY_READ))
async def satisfaction_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The page's figures — the total, per agent, per team — for the same period and record rules.
    A period the page would refuse is refused here too (422), never exported as another one."""
    tz = viewer_tz(request)
    first, last, errors = _period(request.query_params, tz)
    if errors:
        raise ValidationFailed(errors, errors[0].message)
    start, end = _bounds(first, last, tz)
    results = await satisfaction.satisfaction_results(db, principal(request), start, end)
    rows = [_export_row(lazy("Total"), results.total)]
    rows += [_export_row(lazy("Agent"), s) for s in results.by_agent]
    rows += [_export_row(lazy("Team"), s) for s in results.by_team]
    name = f"satisfaction-{first.isoformat()}-{last.isoformat()}"
    return csv_download(csv_bytes([i18n.gettext(h) for h in EXPORT_HEADERS], rows), f"{name}.csv")


# --- the public survey page ------------------------------------------------------------------


async def _survey_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    survey: Survey,
    *,
    form: FormState | None = None,
    status: int = 200,
    answered_now: bool = False,
) -> Response[Any]:
    # In the customer's language, unless they picked one with the switcher on this page.
    if not session(request).locale:
        i18n.set_locale(await customer_locale(db, survey.account_id, survey.contact_id))
    ticket = await db.get(Ticket, survey.ticket_id)
    return render(
        request,
        "service/survey.html",
        status=status,
        survey=survey,
        ticket=ticket,
        form=form or FormState(),
        answered_now=answered_now,
        path=surveys.survey_path(survey),
    )


@get("/s/{token:str}", opt=perm(PUBLIC))
async def survey_form(request: Request[Any, Any, Any], db: DbSession, token: FromPath[str]) -> Response[Any]:
    return await _survey_page(request, db, await surveys.survey_by_token(db, token))


@post("/s/{token:str}", opt=perm(PUBLIC))
async def survey_answer(
    request: Request[Any, Any, Any], db: DbSession, token: FromPath[str]
) -> Response[Any]:
    survey = await surveys.survey_by_token(db, token)
    form = await form_data(request)
    try:
        survey = await surveys.answer_survey(
            db, survey, csat=form.get("csat"), nps=form.get("nps"), comment=form.get("comment")
        )
    except DomainError as exc:
        await db.rollback()
        survey = await surveys.survey_by_token(db, token)
        status = 409 if isinstance(exc, SurveyAlreadyAnswered) else 422
        return await _survey_page(request, db, survey, form=FormState(form, exc), status=status)
    return await _survey_page(request, db, survey, answered_now=True)


ROUTES = [satisfaction_results, satisfaction_export, survey_form, survey_answer]
