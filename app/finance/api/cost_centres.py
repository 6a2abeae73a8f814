"""Cost centres, split rules and the cost-centre report under /api/v1/finance (FIN-4,
docs/finance-settings.md). Reading needs ``fin.ledger.read``, changing ``fin.settings.manage``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from app.finance import settings_schemas as schemas
from app.finance.services import cost_centre_report, cost_centres, date_ranges, split_rules
from app.kernel.api import IdempotencyKey, StrictBody, create_once, operation
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]
TAGS = ["finance: cost centres"]
From = Annotated[date, QueryParameter(name="from", description="First day of the range (ISO 8601).")]
To = Annotated[date, QueryParameter(name="to", description="Last day of the range, included.")]


def _body(data: Any) -> dict[str, Any]:
    values = schemas.fields_sent(data)
    if "shares" in values:
        values["shares"] = [{"cost_centre": s.cost_centre, "percent": s.percent} for s in data.shares]
    return values


@get("/cost-centres", summary="List cost centres", tags=TAGS, **operation(FIN_LEDGER_READ))
async def list_cost_centres(db: DbSession) -> schemas.CostCentreList:
    return schemas.CostCentreList(
        [schemas.cost_centre_of(c) for c in await cost_centres.list_cost_centres(db)]
    )


@get(
    "/cost-centres/{centre_id:int}",
    summary="Get a cost centre",
    tags=TAGS,
    **operation(FIN_LEDGER_READ, resource="fin_cost_centres", problems=[404]),
)
async def get_cost_centre(db: DbSession, centre_id: FromPath[int]) -> schemas.CostCentre:
    return schemas.cost_centre_of(await cost_centres.get_cost_centre(db, centre_id))


@post(
    "/cost-centres",
    summary="Add a cost centre",
    description="Honours `Idempotency-Key`. `code` is unique (letters, digits and . _ / -); ledger lines "
    "name the cost centre by it.",
    tags=TAGS,
    dto=StrictBody[schemas.CostCentreCreate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, problems=[413, 422]),
)
async def create_cost_centre(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.CostCentreCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.CostCentre]:
    async def create() -> schemas.CostCentre:
        return schemas.cost_centre_of(await cost_centres.create_cost_centre(db, principal, _body(data)))

    return await create_once(
        request,
        db,
        actor=principal.key,
        key=idempotency_key,
        data=data,
        out=schemas.CostCentre,
        create=create,
    )


@patch(
    "/cost-centres/{centre_id:int}",
    summary="Change a cost centre",
    description="Only the fields sent change. The code stays once a line uses it, and a cost centre an "
    "active split rule uses stays active (409 `cost_centre_in_use`).",
    tags=TAGS,
    dto=StrictBody[schemas.CostCentreUpdate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, resource="fin_cost_centres", problems=[404, 409, 413, 422]),
)
async def update_cost_centre(
    db: DbSession,
    principal: CurrentPrincipal,
    centre_id: FromPath[int],
    data: JSONBody[schemas.CostCentreUpdate],
) -> schemas.CostCentre:
    return schemas.cost_centre_of(
        await cost_centres.update_cost_centre(db, principal, centre_id, _body(data))
    )


async def _rule_out(db: Any, rule: Any) -> schemas.SplitRule:
    return schemas.split_rule_of(rule, (await split_rules.rule_shares(db, [rule.id]))[rule.id])


@get("/split-rules", summary="List split rules", tags=TAGS, **operation(FIN_LEDGER_READ))
async def list_split_rules(db: DbSession) -> schemas.SplitRuleList:
    rules = await split_rules.list_split_rules(db)
    shares = await split_rules.rule_shares(db, [r.id for r in rules])
    return schemas.SplitRuleList([schemas.split_rule_of(r, shares[r.id]) for r in rules])


@get(
    "/split-rules/{rule_id:int}",
    summary="Get a split rule",
    tags=TAGS,
    **operation(FIN_LEDGER_READ, resource="fin_split_rules", problems=[404]),
)
async def get_split_rule(db: DbSession, rule_id: FromPath[int]) -> schemas.SplitRule:
    return await _rule_out(db, await split_rules.get_split_rule(db, rule_id))


@post(
    "/split-rules",
    summary="Add a split rule",
    description="Honours `Idempotency-Key`. Shares in percent (up to four decimals) on different active "
    "cost centres, adding up to exactly 100 (422 `shares_must_total_100`). The last share takes the "
    "rounding residual of a split.",
    tags=TAGS,
    dto=StrictBody[schemas.SplitRuleCreate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, problems=[413, 422]),
)
async def create_split_rule(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.SplitRuleCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.SplitRule]:
    async def create() -> schemas.SplitRule:
        return await _rule_out(db, await split_rules.create_split_rule(db, principal, _body(data)))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.SplitRule, create=create
    )


@patch(
    "/split-rules/{rule_id:int}",
    summary="Change a split rule",
    description="Only the fields sent change; `shares` replaces all shares (same rules as on creation).",
    tags=TAGS,
    dto=StrictBody[schemas.SplitRuleUpdate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, resource="fin_split_rules", problems=[404, 413, 422]),
)
async def update_split_rule(
    db: DbSession,
    principal: CurrentPrincipal,
    rule_id: FromPath[int],
    data: JSONBody[schemas.SplitRuleUpdate],
) -> schemas.SplitRule:
    return await _rule_out(db, await split_rules.update_split_rule(db, principal, rule_id, _body(data)))


@get(
    "/cost-centre-report",
    summary="Income and expenses by cost centre",
    description="Posted lines of income and expense accounts in the range, per cost centre and account "
    "(lines without a cost centre last, `cost_centre` null); year-end closing entries left out.",
    tags=TAGS,
    **operation(FIN_LEDGER_READ, problems=[422]),
)
async def get_cost_centre_report(db: DbSession, date_from: From, date_to: To) -> schemas.CostCentreReport:
    first, last = date_ranges.parse_range(date_from, date_to)
    return schemas.cost_centre_report_of(await cost_centre_report.cost_centre_report(db, first, last))


ROUTES: list[HTTPRouteHandler] = [
    list_cost_centres,
    get_cost_centre,
    create_cost_centre,
    update_cost_centre,
    list_split_rules,
    get_split_rule,
    create_split_rule,
    update_split_rule,
    get_cost_centre_report,
]
