"""VAT rates, the rates of product categories and the VAT summary under /api/v1/finance
(docs/finance-settings.md). Reading needs ``fin.ledger.read``, changing ``fin.settings.manage``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from app.finance import settings_schemas as schemas
from app.finance.services import date_ranges, tax_rates, vat_report
from app.finance.services.setup import ensure_finance
from app.kernel.api import IdempotencyKey, StrictBody, create_once, operation
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]
TAGS = ["finance: tax"]
From = Annotated[date, QueryParameter(name="from", description="First day of the range (ISO 8601).")]
To = Annotated[date, QueryParameter(name="to", description="Last day of the range, included.")]


async def _out(db: Any, rate: Any) -> schemas.TaxRate:
    return schemas.tax_rate_of(rate, *await tax_rates.account_codes(db, rate))


@get("/tax-rates", summary="List VAT rates", tags=TAGS, **operation(FIN_LEDGER_READ))
async def list_tax_rates(db: DbSession) -> schemas.TaxRateList:
    return schemas.TaxRateList([schemas.tax_rate_of(*row) for row in await tax_rates.list_tax_rates(db)])


@get(
    "/tax-rates/{rate_id:int}",
    summary="Get a VAT rate",
    tags=TAGS,
    **operation(FIN_LEDGER_READ, resource="fin_tax_rates", problems=[404]),
)
async def get_tax_rate(db: DbSession, rate_id: FromPath[int]) -> schemas.TaxRate:
    return await _out(db, await tax_rates.get_tax_rate(db, rate_id))


@post(
    "/tax-rates",
    summary="Add a VAT rate",
    description="Honours `Idempotency-Key`. `rate` is 0–100 with at most two decimals; `output_account` "
    "a postable, active liability account, `input_account` an asset or liability one (codes).",
    tags=TAGS,
    dto=StrictBody[schemas.TaxRateCreate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, problems=[413, 422]),
)
async def create_tax_rate(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.TaxRateCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.TaxRate]:
    async def create() -> schemas.TaxRate:
        return await _out(db, await tax_rates.create_tax_rate(db, principal, schemas.fields_sent(data)))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.TaxRate, create=create
    )


@patch(
    "/tax-rates/{rate_id:int}",
    summary="Change a VAT rate",
    description="Only the fields sent change; the code stays. A rate used on documents keeps its "
    "percentage (409 `tax_rate_in_use`: add a new rate); a rate that categories default to stays "
    "active (409 `tax_rate_has_categories`).",
    tags=TAGS,
    dto=StrictBody[schemas.TaxRateUpdate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, resource="fin_tax_rates", problems=[404, 409, 413, 422]),
)
async def update_tax_rate(
    db: DbSession, principal: CurrentPrincipal, rate_id: FromPath[int], data: JSONBody[schemas.TaxRateUpdate]
) -> schemas.TaxRate:
    return await _out(db, await tax_rates.update_tax_rate(db, principal, rate_id, schemas.fields_sent(data)))


@get(
    "/category-tax-rates",
    summary="VAT rates of product categories",
    description="The rate a new product of each category gets when its own rate is left empty.",
    tags=TAGS,
    **operation(FIN_LEDGER_READ),
)
async def list_category_rates(db: DbSession) -> schemas.CategoryRateList:
    return await _category_list(db)


async def _category_list(db: Any) -> schemas.CategoryRateList:
    return schemas.CategoryRateList(
        [schemas.category_rate_of(c, r) for c, r in await tax_rates.category_rates(db)]
    )


@post(
    "/category-tax-rates",
    summary="Set a product category's VAT rate",
    description="Replaces the category's rate if it had one. The rate must be active (422).",
    tags=TAGS,
    status_code=200,
    dto=StrictBody[schemas.CategoryRateSet],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, problems=[413, 422]),
)
async def set_category_rate(
    db: DbSession, principal: CurrentPrincipal, data: JSONBody[schemas.CategoryRateSet]
) -> schemas.CategoryRateList:
    await tax_rates.set_category_rate(db, principal, data.category, data.tax_rate_id)
    return await _category_list(db)


@delete(
    "/category-tax-rates",
    summary="Remove a product category's VAT rate",
    tags=TAGS,
    **operation(FIN_SETTINGS_MANAGE, problems=[404]),
)
async def remove_category_rate(
    db: DbSession,
    principal: CurrentPrincipal,
    category: Annotated[str, QueryParameter(max_length=200, description="The category's name.")],
) -> None:
    await tax_rates.remove_category_rate(db, principal, category)


@get(
    "/vat-summary",
    summary="VAT summary of a date range",
    description="Output VAT by rate from invoices minus credit notes, input VAT by rate from bills, VAT "
    "payable, and whether the VAT accounts' movements in the ledger agree (`ledger.agrees`). "
    "422 when `to` is before `from`.",
    tags=TAGS,
    **operation(FIN_LEDGER_READ, problems=[422]),
)
async def get_vat_summary(db: DbSession, date_from: From, date_to: To) -> schemas.VatSummary:
    first, last = date_ranges.parse_range(date_from, date_to)
    await ensure_finance(db)
    return schemas.vat_summary_of(await vat_report.vat_summary(db, first, last))


ROUTES: list[HTTPRouteHandler] = [
    list_tax_rates,
    get_tax_rate,
    create_tax_rate,
    update_tax_rate,
    list_category_rates,
    set_category_rate,
    remove_category_rate,
    get_vat_summary,
]
