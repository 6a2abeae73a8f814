"""The OpenAPI document is the API's contract: every route, its schemas, scopes and problems."""

from __future__ import annotations

import pytest

from app.security.permissions import CATALOGUE
from tests.helpers import http

OPERATIONS = {
    ("get", "/api/v1/me"): [],
    ("get", "/api/v1/users"): ["admin.users.read"],
    ("get", "/api/v1/users/{user_id}"): ["admin.users.read"],
    ("patch", "/api/v1/users/{user_id}"): ["admin.users.manage"],
    ("get", "/api/v1/invitations"): ["admin.users.read"],
    ("post", "/api/v1/invitations"): ["admin.users.manage"],
    ("get", "/api/v1/invitations/{invitation_id}"): ["admin.users.read"],
    ("post", "/api/v1/invitations/{invitation_id}/revoke"): ["admin.users.manage"],
    ("get", "/api/v1/roles"): ["admin.users.read"],
    ("get", "/api/v1/roles/{role_id}"): ["admin.users.read"],
    ("get", "/api/v1/teams"): ["admin.users.read"],
    ("post", "/api/v1/teams"): ["admin.teams.manage"],
    ("get", "/api/v1/teams/{team_id}"): ["admin.users.read"],
    ("get", "/api/v1/audit-events"): ["admin.audit.read"],
    ("get", "/api/v1/audit-events/{event_id}"): ["admin.audit.read"],
    # CRM (CRM-1 … CRM-12)
    ("get", "/api/v1/crm/accounts"): ["crm.account.read"],
    ("post", "/api/v1/crm/accounts"): ["crm.account.write"],
    ("get", "/api/v1/crm/accounts/{account_id}"): ["crm.account.read"],
    ("patch", "/api/v1/crm/accounts/{account_id}"): ["crm.account.write"],
    ("post", "/api/v1/crm/accounts/{account_id}/merge"): ["crm.account.merge"],
    ("get", "/api/v1/crm/contacts"): ["crm.account.read"],
    ("post", "/api/v1/crm/contacts"): ["crm.account.write"],
    ("get", "/api/v1/crm/contacts/{contact_id}"): ["crm.account.read"],
    ("patch", "/api/v1/crm/contacts/{contact_id}"): ["crm.account.write"],
    ("get", "/api/v1/crm/contracts"): ["crm.contract.read"],
    ("get", "/api/v1/crm/contracts/{contract_id}"): ["crm.contract.read"],
    ("post", "/api/v1/crm/inbound-email"): ["crm.ticket.write"],
    ("get", "/api/v1/crm/leads"): ["crm.lead.read"],
    ("post", "/api/v1/crm/leads"): ["crm.lead.write"],
    ("get", "/api/v1/crm/leads/{lead_id}"): ["crm.lead.read"],
    ("patch", "/api/v1/crm/leads/{lead_id}"): ["crm.lead.write"],
    ("post", "/api/v1/crm/leads/{lead_id}/convert"): ["crm.lead.write"],
    ("post", "/api/v1/crm/leads/{lead_id}/disqualify"): ["crm.lead.write"],
    ("post", "/api/v1/crm/leads/{lead_id}/qualify"): ["crm.lead.write"],
    ("get", "/api/v1/crm/opportunities"): ["crm.opportunity.read"],
    ("post", "/api/v1/crm/opportunities"): ["crm.opportunity.write"],
    ("get", "/api/v1/crm/opportunities/{opportunity_id}"): ["crm.opportunity.read"],
    ("patch", "/api/v1/crm/opportunities/{opportunity_id}"): ["crm.opportunity.write"],
    ("post", "/api/v1/crm/opportunities/{opportunity_id}/stage"): ["crm.opportunity.write"],
    ("get", "/api/v1/crm/orders"): ["crm.order.read"],
    ("post", "/api/v1/crm/orders"): ["crm.order.write"],
    ("get", "/api/v1/crm/orders/{order_id}"): ["crm.order.read"],
    ("post", "/api/v1/crm/orders/{order_id}/cancel"): ["crm.order.confirm"],
    ("post", "/api/v1/crm/orders/{order_id}/confirm"): ["crm.order.confirm"],
    ("post", "/api/v1/crm/orders/{order_id}/fulfil"): ["crm.order.confirm"],
    ("get", "/api/v1/crm/pipeline-stages"): ["crm.opportunity.read"],
    ("get", "/api/v1/crm/pipeline-stages/{stage_id}"): ["crm.opportunity.read"],
    ("get", "/api/v1/crm/products"): ["crm.product.read"],
    ("get", "/api/v1/crm/products/{product_id}"): ["crm.product.read"],
    ("get", "/api/v1/crm/quotes"): ["crm.order.read"],
    ("post", "/api/v1/crm/quotes"): ["crm.order.write"],
    ("get", "/api/v1/crm/quotes/{quote_id}"): ["crm.order.read"],
    ("get", "/api/v1/crm/tickets"): ["crm.ticket.read"],
    ("post", "/api/v1/crm/tickets"): ["crm.ticket.write"],
    ("get", "/api/v1/crm/tickets/{ticket_id}"): ["crm.ticket.read"],
    ("patch", "/api/v1/crm/tickets/{ticket_id}"): ["crm.ticket.write"],
    ("post", "/api/v1/crm/tickets/{ticket_id}/messages"): ["crm.ticket.write"],
    ("get", "/api/v1/finance/accounts"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/accounts/{account_id}"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/entries"): ["fin.ledger.read"],
    ("post", "/api/v1/finance/entries"): ["fin.journal.post"],
    ("get", "/api/v1/finance/entries/{entry_id}"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/trial-balance"): ["fin.ledger.read"],
    # finance settings (docs/finance-settings.md)
    ("post", "/api/v1/finance/accounts"): ["fin.settings.manage"],
    ("patch", "/api/v1/finance/accounts/{account_id}"): ["fin.settings.manage"],
    ("delete", "/api/v1/finance/accounts/{account_id}"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/settings"): ["fin.ledger.read"],
    ("patch", "/api/v1/finance/settings"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/posting-rules"): ["fin.ledger.read"],
    ("patch", "/api/v1/finance/posting-rules"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/tax-rates"): ["fin.ledger.read"],
    ("post", "/api/v1/finance/tax-rates"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/tax-rates/{rate_id}"): ["fin.ledger.read"],
    ("patch", "/api/v1/finance/tax-rates/{rate_id}"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/category-tax-rates"): ["fin.ledger.read"],
    ("post", "/api/v1/finance/category-tax-rates"): ["fin.settings.manage"],
    ("delete", "/api/v1/finance/category-tax-rates"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/vat-summary"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/cost-centres"): ["fin.ledger.read"],
    ("post", "/api/v1/finance/cost-centres"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/cost-centres/{centre_id}"): ["fin.ledger.read"],
    ("patch", "/api/v1/finance/cost-centres/{centre_id}"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/split-rules"): ["fin.ledger.read"],
    ("post", "/api/v1/finance/split-rules"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/split-rules/{rule_id}"): ["fin.ledger.read"],
    ("patch", "/api/v1/finance/split-rules/{rule_id}"): ["fin.settings.manage"],
    ("get", "/api/v1/finance/cost-centre-report"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/suppliers"): ["fin.payable.read"],
    ("post", "/api/v1/finance/suppliers"): ["fin.payable.write"],
    ("get", "/api/v1/finance/suppliers/{supplier_id}"): ["fin.payable.read"],
    ("patch", "/api/v1/finance/suppliers/{supplier_id}"): ["fin.payable.write"],
    ("get", "/api/v1/finance/suppliers/{supplier_id}/statement"): ["fin.payable.read"],
    ("get", "/api/v1/finance/bills"): ["fin.payable.read"],
    ("post", "/api/v1/finance/bills"): ["fin.payable.write"],
    ("get", "/api/v1/finance/bills/{bill_id}"): ["fin.payable.read"],
    ("post", "/api/v1/finance/bills/{bill_id}/cancel"): ["fin.payable.write"],
    ("get", "/api/v1/finance/supplier-payments"): ["fin.payable.read"],
    ("post", "/api/v1/finance/supplier-payments"): ["fin.payable.write"],
    ("get", "/api/v1/finance/supplier-payments/{payment_id}"): ["fin.payable.read"],
    ("post", "/api/v1/finance/supplier-payments/{payment_id}/allocations"): ["fin.payable.write"],
    ("get", "/api/v1/finance/payables/ageing"): ["fin.payable.read"],
    ("get", "/api/v1/finance/profit-and-loss"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/balance-sheet"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/cash-report"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/accounts/{account_id}/ledger"): ["fin.ledger.read"],
    ("get", "/api/v1/finance/invoices"): ["fin.receivable.read"],
    ("post", "/api/v1/finance/invoices"): ["fin.receivable.write"],
    ("get", "/api/v1/finance/invoices/{invoice_id}"): ["fin.receivable.read"],
    ("post", "/api/v1/finance/invoices/{invoice_id}/credit-notes"): ["fin.receivable.write"],
    ("get", "/api/v1/finance/payments"): ["fin.receivable.read"],
    ("post", "/api/v1/finance/payments"): ["fin.receivable.write"],
    ("get", "/api/v1/finance/payments/{payment_id}"): ["fin.receivable.read"],
    ("post", "/api/v1/finance/payments/{payment_id}/allocations"): ["fin.receivable.write"],
    ("get", "/api/v1/finance/receivables/ageing"): ["fin.receivable.read"],
    ("get", "/api/v1/finance/customers/{account_id}/statement"): ["fin.receivable.read"],
}


@pytest.fixture(scope="module")
async def spec(app, world):
    async with http(app, "tessera.test") as c:
        r = await c.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def _ref(schema: dict) -> str:
    return schema["$ref"].removeprefix("#/components/schemas/")


def test_the_oauth2_scheme_names_the_token_endpoint_and_every_scope(spec):
    oauth2 = spec["components"]["securitySchemes"]["oauth2"]
    assert oauth2["type"] == "oauth2"
    flow = oauth2["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == set(CATALOGUE.keys())


def test_every_api_operation_is_listed_with_the_scope_it_needs(spec):
    listed = {
        (m, p): op["security"]
        for p, ops in spec["paths"].items()
        if p.startswith("/api/")
        for m, op in ops.items()
    }
    assert listed == {k: [{"oauth2": scopes}] for k, scopes in OPERATIONS.items()}


@pytest.mark.parametrize(
    ("method", "path", "request_schema", "status", "response_schema"),
    [
        ("patch", "/api/v1/users/{user_id}", "UserUpdate", "200", "User"),
        ("post", "/api/v1/invitations", "InvitationCreate", "201", "Invitation"),
        ("post", "/api/v1/teams", "TeamCreate", "201", "Team"),
    ],
)
def test_writes_document_their_request_and_response_bodies(
    spec, method, path, request_schema, status, response_schema
):
    op = spec["paths"][path][method]
    assert _ref(op["requestBody"]["content"]["application/json"]["schema"]) == request_schema
    assert _ref(op["responses"][status]["content"]["application/json"]["schema"]) == response_schema
    assert _ref(op["responses"]["422"]["content"]["application/problem+json"]["schema"]) == "Problem"


def test_lists_document_their_page_and_pagination_parameters(spec):
    op = spec["paths"]["/api/v1/users"]["get"]
    assert _ref(op["responses"]["200"]["content"]["application/json"]["schema"]) == "UserPage"
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == {"q", "active", "role", "limit", "cursor"}
    assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"]) == (1, 200)
    page = spec["components"]["schemas"]["UserPage"]
    assert sorted(page["required"]) == ["items", "next_cursor"]
    assert _ref(page["properties"]["items"]["items"]) == "User"


def test_creates_document_the_idempotency_key_header(spec):
    for path in ("/api/v1/invitations", "/api/v1/teams"):
        [header] = [p for p in spec["paths"][path]["post"]["parameters"] if p["in"] == "header"]
        assert (header["name"], header["required"]) == ("Idempotency-Key", False)


def test_request_schemas_carry_their_constraints(spec):
    create = spec["components"]["schemas"]["InvitationCreate"]
    assert sorted(create["required"]) == ["email", "roles"]
    assert create["properties"]["email"]["maxLength"] == 254
    assert "pattern" in create["properties"]["email"]
    assert (create["properties"]["roles"]["minItems"], create["properties"]["roles"]["maxItems"]) == (1, 20)
    problem = spec["components"]["schemas"]["Problem"]
    assert sorted(problem["required"]) == ["code", "status", "title", "type"]


def test_the_document_describes_the_api_only(spec):
    assert sorted(p for p in spec["paths"] if not p.startswith("/api/v1/")) == ["/oauth/token"]
