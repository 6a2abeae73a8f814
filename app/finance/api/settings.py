"""Finance settings and posting rules under /api/v1/finance (docs/finance-settings.md).

Reading needs ``fin.ledger.read``; changing needs ``fin.settings.manage``. Reading the settings
never installs the chart, so a client can still choose one before finance is first used.
"""

from __future__ import annotations

from litestar import get, patch
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from app.finance import settings_schemas as schemas
from app.finance.services import finance_settings, posting_rules
from app.kernel.api import StrictBody, operation
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]
TAGS = ["finance: settings"]


@get(
    "/settings",
    summary="Finance settings",
    description="The chart (null until finance is first used), base currency, when orders are invoiced "
    "and the default payment terms.",
    tags=TAGS,
    **operation(FIN_LEDGER_READ),
)
async def get_settings(db: DbSession) -> schemas.FinanceSettings:
    return schemas.settings_of(await finance_settings.settings_view(db))


@patch(
    "/settings",
    summary="Change finance settings",
    description="Only the fields sent change. `chart_template` only before finance is first used (409 "
    "`chart_already_chosen`); `base_currency` only while nothing is posted (409 `base_currency_locked`). "
    "Bad values are 422 with field errors; nothing is written.",
    tags=TAGS,
    dto=StrictBody[schemas.FinanceSettingsUpdate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, problems=[409, 413, 422]),
)
async def update_settings(
    db: DbSession, principal: CurrentPrincipal, data: JSONBody[schemas.FinanceSettingsUpdate]
) -> schemas.FinanceSettings:
    view = await finance_settings.update_settings(db, principal, schemas.fields_sent(data))
    return schemas.settings_of(view)


@get(
    "/posting-rules",
    summary="Posting rules",
    description="Every role of a document's entry with the account it posts to: the organisation's "
    "choice or the chart's default.",
    tags=TAGS,
    **operation(FIN_LEDGER_READ),
)
async def list_posting_rules(db: DbSession) -> schemas.PostingRuleList:
    return schemas.posting_rules_of(await posting_rules.rule_views(db))


@patch(
    "/posting-rules",
    summary="Choose posting rule accounts",
    description="`rules` maps roles to account codes (a postable, active account of a fitting type) or "
    "to null (back to the chart's default). All or nothing: 422 with `rules.<role>` field errors.",
    tags=TAGS,
    dto=StrictBody[schemas.PostingRulesUpdate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, problems=[409, 413, 422]),
)
async def update_posting_rules(
    db: DbSession, principal: CurrentPrincipal, data: JSONBody[schemas.PostingRulesUpdate]
) -> schemas.PostingRuleList:
    return schemas.posting_rules_of(await posting_rules.choose_accounts(db, principal, data.rules))


ROUTES: list[HTTPRouteHandler] = [get_settings, update_settings, list_posting_rules, update_posting_rules]
