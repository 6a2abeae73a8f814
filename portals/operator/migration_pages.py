"""The migrate-all report (PLAT-2): where every tenant schema stands, the latest runs of
``tessera migrate`` and their failures. Runs start from the command line (deploys), not here: a
run owns a pool of worker processes, which a web request must not."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery

from app.kernel.db import get_database
from app.kernel.web import DbSession
from portals.operator import queries
from portals.operator.web import CONSOLE
from portals.web import render
from tenants.migrations import head, shared_revision


@get("/operator/migrations", opt=CONSOLE)
async def migration_report(
    request: Request[Any, Any, Any], db: DbSession, run: FromQuery[str] = ""
) -> Response[Any]:
    runs = await queries.latest_runs(db)
    selected = run[:36] or (runs[0].run_id if runs else "")
    return render(
        request,
        "operator/migrations.html",
        tenant_head=head("tenant"),
        shared_head=head("shared"),
        shared_at=await shared_revision(get_database().engine),
        summary=await queries.schema_summary(db),
        failing=await queries.failing_tenants(db),
        runs=runs,
        selected=selected,
        results=await queries.run_results(db, selected) if selected else [],
        failures=await queries.recent_failures(db),
    )


ROUTES = [migration_report]
