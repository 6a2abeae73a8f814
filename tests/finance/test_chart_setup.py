"""Which chart a tenant gets: the one chosen at set-up, else the default for its language; once
installed it stays. Tenants set up before finance existed get theirs on first use (or with
`tessera finance chart`)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.finance.models import Account, FinanceSettings, TaxRate
from app.finance.services import posting
from app.finance.services.charts import CAS
from app.finance.services.posting import PostingLine, PostingRequest
from app.finance.services.setup import default_template
from app.kernel.errors import ValidationFailed
from tenants.provisioning import ProvisionRequest, validate
from tenants.service import in_tenant
from tests.finance.support import without_books
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

TESSERA = str(Path(sys.executable).parent / "tessera")


async def tessera(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        TESSERA,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=os.environ.copy(),
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def test_the_default_chart_follows_the_language():
    assert default_template("zh_Hans") == "cas"
    assert default_template("zh_Hant") == "cas"
    assert default_template("en") == "ifrs"
    assert default_template(None) == "ifrs"


async def test_a_chinese_tenant_posts_on_the_china_accounting_standards(make_tenant):  # noqa: F811
    tenant = await make_tenant("fincn", locale="zh_Hans")
    async with in_tenant(tenant.slug) as (session, _):
        entry = await posting.post(
            session,
            None,
            PostingRequest(
                date=date(2026, 12, 4),
                lines=[
                    PostingLine("1002", debit=Decimal("100.00")),
                    PostingLine("6001", credit=Decimal("100.00")),
                ],
            ),
        )
        names = {
            code: name for code, name in (await session.execute(select(Account.code, Account.name))).all()
        }
    assert entry.number == "记-2026-12-0001"
    assert len(names) == len(CAS)
    assert names["222101"] == "应交增值税(销项税额)"


async def test_the_chart_is_chosen_at_set_up_and_then_kept(make_tenant, acme):  # noqa: F811
    english = await make_tenant("finifrs")  # English: IFRS-style by default
    chosen = await make_tenant("finchart", chart="cas", currency="USD")  # chosen at set-up
    async with in_tenant(chosen.slug) as (session, _):
        settings = (await session.execute(select(FinanceSettings))).scalar_one()
        rates = set((await session.execute(select(TaxRate.code))).scalars())
    assert (settings.chart_template, settings.base_currency) == ("cas", "USD")
    assert {"VAT13", "VAT9", "VAT6", "EXEMPT"} <= rates
    assert await tessera("finance", "chart", "--tenant", english.slug) == (0, f"{english.slug}: ifrs\n")
    assert await tessera("finance", "chart", "--tenant", chosen.slug) == (0, f"{chosen.slug}: cas\n")
    code, out = await tessera("finance", "chart", "--tenant", chosen.slug, "--template", "ifrs")
    assert code == 1
    assert "cannot change" in out
    code, out = await tessera("finance", "chart", "--tenant", "no-such-tenant")
    assert code == 1
    assert "was not found" in out


async def test_a_tenant_set_up_before_finance_existed_gets_its_chart_on_first_use(make_tenant):  # noqa: F811
    tenant = await without_books(await make_tenant("finlegacy"))
    assert await tessera("finance", "chart", "--tenant", tenant.slug, "--template", "cas") == (
        0,
        f"{tenant.slug}: cas (installed now)\n",
    )
    async with in_tenant(tenant.slug) as (session, _):
        assert await session.scalar(select(func.count()).select_from(Account)) == len(CAS)


def test_a_chart_that_does_not_exist_is_refused_at_set_up():
    with pytest.raises(ValidationFailed) as refused:
        validate(ProvisionRequest(slug="abc", name="A", admin_email="a@b.example", chart="gaap"))
    assert [e.field for e in refused.value.errors] == ["chart"]
