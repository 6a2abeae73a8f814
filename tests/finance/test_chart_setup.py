"""Which chart a tenant gets: the default for its language on first use, or the one chosen with
`tessera finance chart` before that; once installed it stays."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app.finance.models import Account
from app.finance.services import posting
from app.finance.services.charts import CAS
from app.finance.services.posting import PostingLine, PostingRequest
from app.finance.services.setup import default_template
from tenants.service import in_tenant
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


async def test_the_chart_is_chosen_before_first_use_and_then_kept(make_tenant, acme):  # noqa: F811
    tenant = await make_tenant("finchart")  # English: IFRS by default
    assert await tessera("finance", "chart", "--tenant", tenant.slug, "--template", "cas") == (
        0,
        f"{tenant.slug}: cas (installed now)\n",
    )
    assert await tessera("finance", "chart", "--tenant", tenant.slug) == (0, f"{tenant.slug}: cas\n")
    code, out = await tessera("finance", "chart", "--tenant", tenant.slug, "--template", "ifrs")
    assert code == 1
    assert "cannot change" in out
    code, out = await tessera("finance", "chart", "--tenant", "no-such-tenant")
    assert code == 1
    assert "was not found" in out
