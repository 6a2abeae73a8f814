"""Finance settings through the API: the chart chosen once before first use, the base currency
only while nothing is posted, when orders are invoiced and the payment terms; the posting door's
currency check; bad input answered 4xx with nothing written; who may change what."""

from __future__ import annotations

from datetime import date

import pytest

from app.finance.errors import CurrencyMismatch
from app.finance.services import posting
from app.security.permissions import FIN_JOURNAL_POST, FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from tenants.service import in_tenant
from tests.crm.support import api_as, problem_of
from tests.finance.settings_support import snapshot
from tests.finance.support import codes, fresh_month, ledger_counts, sale, scalar, without_books
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

SETTINGS = "/api/v1/finance/settings"
MANAGE = [FIN_LEDGER_READ, FIN_SETTINGS_MANAGE]


async def test_reading_the_settings_installs_nothing_and_the_chart_is_chosen_once(app, make_tenant):  # noqa: F811
    tenant = await without_books(await make_tenant("finset"))  # a tenant from before finance
    async with api_as(app, tenant, MANAGE) as api:
        first = (await api.get(SETTINGS)).json()
        assert await scalar(tenant, "SELECT count(*) FROM S.fin_accounts") == 0
        chosen = await api.patch(
            SETTINGS, json={"chart_template": "cas", "invoice_on": "fulfilled", "payment_terms_days": 45}
        )
        again = await api.patch(SETTINGS, json={"chart_template": "cas"})
        before = await snapshot(tenant)
        other = await api.patch(SETTINGS, json={"chart_template": "ifrs", "payment_terms_days": 10})
        after = await api.get(SETTINGS)
    assert first == {
        "chart_template": None,
        "chart_choosable": True,
        "suggested_chart_template": "ifrs",
        "base_currency": "CNY",
        "base_currency_changeable": True,
        "invoice_on": "confirmed",
        "payment_terms_days": 30,
    }
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["chart_template"] == "cas"
    assert chosen.json()["chart_choosable"] is False
    assert chosen.json()["invoice_on"] == "fulfilled"
    assert chosen.json()["payment_terms_days"] == 45
    assert await scalar(tenant, "SELECT name FROM S.fin_accounts WHERE code = '1122'") == "应收账款"
    assert again.status_code == 200
    assert (other.status_code, problem_of(other)["code"]) == (409, "chart_already_chosen")
    assert await snapshot(tenant) == before
    assert after.json()["payment_terms_days"] == 45


async def test_the_base_currency_changes_only_while_nothing_is_posted(app, make_tenant):  # noqa: F811
    tenant = await make_tenant("fincur")
    async with api_as(app, tenant, [*MANAGE, FIN_JOURNAL_POST]) as api:
        euro = await api.patch(SETTINGS, json={"base_currency": "eur"})
        c = await codes(tenant)
        entry = {
            "date": "2026-12-04",
            "currency": "EUR",
            "lines": [{"account": c["bank"], "debit": "5.00"}, {"account": c["revenue"], "credit": "5.00"}],
        }
        posted = await api.post("/api/v1/finance/entries", json=entry)
        before = await snapshot(tenant)
        locked = await api.patch(SETTINGS, json={"base_currency": "USD"})
        after = await snapshot(tenant)
        same = await api.patch(SETTINGS, json={"base_currency": "EUR", "payment_terms_days": 0})
    assert euro.status_code == 200, euro.text
    assert euro.json()["base_currency"] == "EUR"
    assert posted.status_code == 201, posted.text
    assert (locked.status_code, problem_of(locked)["code"]) == (409, "base_currency_locked")
    assert after == before
    assert same.status_code == 200
    assert same.json()["base_currency_changeable"] is False
    assert same.json()["payment_terms_days"] == 0


async def test_bad_settings_are_refused_with_field_errors_and_nothing_written(app, acme):
    async with api_as(app, acme, MANAGE) as api:
        await api.get("/api/v1/finance/accounts")  # the chart is installed
        before = await snapshot(acme)
        bad = await api.patch(
            SETTINGS,
            json={
                "base_currency": "XYZ",
                "invoice_on": "paid",
                "payment_terms_days": 366,
                "chart_template": "gaap",
            },
        )
        negative = await api.patch(SETTINGS, json={"payment_terms_days": -1})
        text_days = await api.patch(SETTINGS, json={"payment_terms_days": "30"})
        unknown = await api.patch(SETTINGS, json={"fiscal_year_start": "04"})
        too_long = await api.patch(SETTINGS, json={"base_currency": "EURO"})
    assert (bad.status_code, problem_of(bad)["code"]) == (422, "validation_failed")
    assert {e["field"] for e in problem_of(bad)["errors"]} == {
        "base_currency",
        "invoice_on",
        "payment_terms_days",
        "chart_template",
    }
    assert problem_of(negative)["errors"][0]["field"] == "payment_terms_days"
    assert text_days.status_code == 400
    assert unknown.status_code == 400
    assert too_long.status_code == 400
    assert await snapshot(acme) == before


async def test_only_the_base_currency_posts(app, acme):
    c, on = await codes(acme), fresh_month()
    before = await ledger_counts(acme)
    body = {
        "date": on.isoformat(),
        "lines": [{"account": c["bank"], "debit": "9.00"}, {"account": c["revenue"], "credit": "9.00"}],
    }
    async with api_as(app, acme, [FIN_LEDGER_READ, FIN_JOURNAL_POST]) as api:
        dollars = await api.post("/api/v1/finance/entries", json={**body, "currency": "USD"})
        nonsense = await api.post("/api/v1/finance/entries", json={**body, "currency": "$$"})
        assert await ledger_counts(acme) == before
        yuan = await api.post("/api/v1/finance/entries", json={**body, "currency": "CNY"})
        plain = await api.post("/api/v1/finance/entries", json=body)
    problem = problem_of(dollars)
    assert (dollars.status_code, problem["code"]) == (422, "currency_mismatch")
    assert problem["errors"] == [
        {"field": "currency", "message": "The ledger is kept in CNY: an entry in USD cannot be posted."}
    ]
    assert problem_of(nonsense)["code"] == "currency_mismatch"
    assert yuan.status_code == 201, yuan.text
    assert plain.status_code == 201
    async with in_tenant(acme.slug) as (session, _):
        with pytest.raises(CurrencyMismatch):
            await posting.post(session, None, sale(c, date(on.year, 7, 1), currency="JPY"))
        refused_at = await ledger_counts(acme)
    assert refused_at[0] == before[0] + 2


async def test_reading_needs_the_ledger_and_changing_needs_the_settings_permission(app, acme):
    async with api_as(app, acme, [FIN_LEDGER_READ]) as reader:
        read = await reader.get(SETTINGS)
        refused = await reader.patch(SETTINGS, json={"payment_terms_days": 1})
    async with api_as(app, acme, [FIN_SETTINGS_MANAGE]) as manager:
        blind = await manager.get(SETTINGS)
    assert read.status_code == 200
    assert problem_of(refused)["code"] == "forbidden"
    assert blind.status_code == 403
