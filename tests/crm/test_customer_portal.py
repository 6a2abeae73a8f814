"""The customer portal's pages (CRM-12): a customer sees their own account's orders (not drafts),
tickets with the public conversation and surveys — another account's records are 404 on every
route, and bad input changes nothing."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.crm.models import Product, SalesOrder, Survey, Ticket, TicketMessage
from tenants.service import in_tenant
from tests.crm.factories.portal import (
    Customer,
    customer_account,
    customer_browser,
    customer_user,
    message_on,
    order_for,
    survey_for,
    ticket_for,
)
from tests.crm.factories.sales import product_row
from tests.crm.support import table_counts
from tests.helpers import signed_in


def mark() -> str:
    return uuid.uuid4().hex[:8]


@dataclass
class Shop:
    a: Customer  # the customer we sign in as
    b: Customer  # another customer of the same tenant
    widget: Product  # on A's orders
    gadget: Product  # only on B's
    orders: dict[str, SalesOrder]  # A's, by status
    b_order: SalesOrder
    ticket: Ticket  # A's open ticket with an agent reply and an internal note
    b_ticket: Ticket
    b_survey: Survey


@pytest.fixture(scope="module")
async def shop(acme) -> Shop:
    m = mark()
    async with in_tenant(acme.slug) as (session, _):
        a = await customer_account(session, f"a{m}")
        b = await customer_account(session, f"b{m}")
        widget = await product_row(session, f"W{m}", "100.00", "13", name=f"Widget {m}")
        gadget = await product_row(session, f"G{m}", "50.00", "13", name=f"Gadget {m}")
        orders = {}
        for status in ("draft", "confirmed", "fulfilled", "invoiced", "cancelled"):
            orders[status] = await order_for(session, a.account_id, status, [(widget, "2")])
        orders["confirmed"].customer_reference = f"PO-{m}"
        b_order = await order_for(session, b.account_id, "confirmed", [(gadget, "1")])
        ticket = await ticket_for(session, a, f"Printer jams {m}", owner_id=acme.users["sue"])
        await message_on(session, ticket, "Please try a new cartridge.", user_id=acme.users["sue"])
        await message_on(
            session, ticket, "INTERNAL: on credit hold", internal=True, user_id=acme.users["sue"]
        )
        b_ticket = await ticket_for(session, b, f"B's secret trouble {m}")
        await message_on(session, b_ticket, f"B private reply {m}", user_id=acme.users["sue"])
        b_closed = await ticket_for(session, b, f"B closed {m}", status="closed")
        b_survey = await survey_for(session, b_closed, seed=f"b{m}")
        await session.flush()
    return Shop(a, b, widget, gadget, orders, b_order, ticket, b_ticket, b_survey)


def nav_links(html: str) -> list[str]:
    nav = html.split('<nav class="nav">', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


# --- getting there ---------------------------------------------------------------------------


async def test_customers_start_at_the_portal_and_see_only_its_navigation(app, acme, shop):
    async with customer_browser(app, acme, shop.a.email) as b:
        start = await b.get("/")
        home = await b.get("/portal")
    assert (start.status_code, start.headers["location"]) == (303, "/portal")
    assert home.status_code == 200
    # Invoices: finance registers the customer's documents (app/finance/handlers.py).
    assert nav_links(home.text) == [
        "/portal",
        "/portal/orders",
        "/portal/tickets",
        "/portal/surveys",
        "/portal/invoices",
    ]
    assert f"Customer {shop.a.account_id}" not in home.text
    assert "Welcome, Person a" in home.text


async def test_staff_never_see_the_portal_entries_and_cannot_open_it(app, acme):
    async with signed_in(app, acme, "ada") as admin:
        home = await admin.get("/")
        portal = await admin.get("/portal")
    assert not [link for link in nav_links(home.text) if link.startswith("/portal")]
    assert portal.status_code == 403


async def test_home_counts_open_orders_tickets_and_waiting_surveys(app, acme, shop):
    async with customer_browser(app, acme, shop.a.email) as b:
        page = (await b.get("/portal")).text
    assert shop.orders["confirmed"].number in page
    assert shop.orders["fulfilled"].number in page
    for hidden in (shop.orders["draft"], shop.orders["invoiced"], shop.orders["cancelled"], shop.b_order):
        assert hidden.number not in page
    assert shop.ticket.subject in page
    assert shop.b_ticket.subject not in page
    stats = re.findall(r'<div class="value">(\d+)</div>', page)
    assert stats == ["2", "1", "0"]  # two open orders, one open ticket, no survey (B's is not A's)


# --- orders ----------------------------------------------------------------------------------


async def test_orders_list_shows_committed_orders_with_their_status_and_no_drafts(app, acme, shop):
    async with customer_browser(app, acme, shop.a.email) as b:
        page = (await b.get("/portal/orders")).text
        open_only = (await b.get("/portal/orders?f_status=open")).text
        found = (
            await b.htmx("GET", f"/portal/orders?q=po-{shop.orders['confirmed'].customer_reference[3:]}")
        ).text
    for status in ("confirmed", "fulfilled", "invoiced", "cancelled"):
        assert shop.orders[status].number in page
    assert shop.orders["draft"].number not in page
    assert shop.b_order.number not in page
    assert "CN¥226.00" in page
    for label in ("Confirmed", "Fulfilled", "Invoiced", "Cancelled"):
        assert f">{label}</span>" in page
    assert shop.orders["invoiced"].number not in open_only
    assert shop.orders["fulfilled"].number in open_only
    assert found.lstrip().startswith('<div id="orders-table">')
    assert shop.orders["confirmed"].number in found
    assert shop.orders["fulfilled"].number not in found


async def test_order_detail_shows_lines_totals_and_the_status_timeline(app, acme, shop):
    fulfilled, cancelled = shop.orders["fulfilled"], shop.orders["cancelled"]
    async with customer_browser(app, acme, shop.a.email) as b:
        page = (await b.get(f"/portal/orders/{fulfilled.id}")).text
        gone = (await b.get(f"/portal/orders/{cancelled.id}")).text
    assert f"Order {fulfilled.number}" in page
    assert shop.widget.name in page
    assert "2 pcs" in page
    for amount in (
        "CN¥100.00",
        "CN¥200.00",
        "CN¥26.00",
        "CN¥226.00",
    ):  # unit, net line and subtotal, VAT, total
        assert amount in page
    steps = re.findall(r'<li class="cp-step cp-(\w+)">\s*<span class="cp-dot" aria-hidden="true"></span>\s*'
                       r'<span class="cp-step-label">(\w+)</span>', page)  # fmt: skip
    assert steps == [("done", "Confirmed"), ("current", "Fulfilled"), ("todo", "Invoiced")]
    steps = re.findall(r'<li class="cp-step cp-(\w+)">', gone)
    assert steps == ["done", "cancelled"]
    assert "credit hold" not in gone  # the seller's cancellation note stays internal


async def test_draft_orders_and_other_accounts_orders_are_not_found(app, acme, shop):
    async with customer_browser(app, acme, shop.a.email) as b:
        for order_id in (shop.orders["draft"].id, shop.b_order.id, 987654321):
            r = await b.get(f"/portal/orders/{order_id}")
            assert r.status_code == 404, order_id
            assert shop.b_order.number not in r.text
    async with customer_browser(app, acme, shop.b.email) as b:
        assert (await b.get(f"/portal/orders/{shop.b_order.id}")).status_code == 200
        assert (await b.get(f"/portal/orders/{shop.orders['confirmed'].id}")).status_code == 404


# --- tickets ---------------------------------------------------------------------------------


async def test_tickets_show_the_public_conversation_only(app, acme, shop):
    async with customer_browser(app, acme, shop.a.email) as b:
        listing = (await b.get("/portal/tickets")).text
        page = (await b.get(f"/portal/tickets/{shop.ticket.id}")).text
    assert shop.ticket.subject in listing
    assert shop.b_ticket.subject not in listing
    assert "Please try a new cartridge." in page
    assert "Sue Agent" in page
    assert "INTERNAL" not in page
    assert f"About {shop.ticket.subject}" in page


async def test_another_accounts_ticket_is_not_found_for_reading_or_replying(app, acme, shop):
    before = await table_counts(acme, "crm_ticket_messages", "crm_tickets")
    async with customer_browser(app, acme, shop.a.email) as b:
        read = await b.get(f"/portal/tickets/{shop.b_ticket.id}")
        reply = await b.post(f"/portal/tickets/{shop.b_ticket.id}/messages", {"body": "let me in"})
    assert (read.status_code, reply.status_code) == (404, 404)
    assert "B private reply" not in read.text + reply.text
    assert await table_counts(acme, "crm_ticket_messages", "crm_tickets") == before


async def test_opening_a_ticket_about_an_own_order(app, acme, shop):
    subject = f"Wrong colour delivered {mark()}"
    order = shop.orders["fulfilled"]
    async with customer_browser(app, acme, shop.a.email) as b:
        form = (await b.get(f"/portal/tickets/new?order={order.id}")).text
        r = await b.post(
            "/portal/tickets",
            {"subject": subject, "description": "Ordered blue, got red.", "priority": "high",
             "category": "Delivery", "sales_order_id": str(order.id), "product_id": str(shop.widget.id)},
        )  # fmt: skip
        assert r.status_code == 303
        page = await b.get(r.headers["location"])
    assert f'<option value="{order.id}" selected>' in form
    assert shop.b_order.number not in form
    assert shop.gadget.name not in form
    async with in_tenant(acme.slug) as (session, _):
        ticket = (await session.execute(select(Ticket).where(Ticket.subject == subject))).scalar_one()
    assert (ticket.account_id, ticket.contact_id, ticket.channel, ticket.priority, ticket.category) == (
        shop.a.account_id, shop.a.contact_id, "customer_portal", "high", "Delivery",
    )  # fmt: skip
    assert (ticket.sales_order_id, ticket.product_id, ticket.status) == (order.id, shop.widget.id, "new")
    assert r.headers["location"] == f"/portal/tickets/{ticket.id}"
    assert f"Thank you — your ticket {ticket.number} is open." in page.text


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"subject": "  "}, "This field is required."),
        ({"sales_order_id": "B"}, "Choose one of your orders."),
        ({"sales_order_id": "DRAFT"}, "Choose one of your orders."),
        ({"product_id": "GADGET"}, "Choose one of the products you ordered."),
        ({"priority": "whenever"}, "Choose one of: low, normal, high, urgent."),
        ({"category": "Free text"}, "Choose one of the topics."),
    ],
)
async def test_refused_tickets_rerender_the_form_and_change_nothing(app, acme, shop, change, field_message):
    ids = {"B": shop.b_order.id, "DRAFT": shop.orders["draft"].id, "GADGET": shop.gadget.id}
    data = {"subject": "Valid subject", "priority": "normal"}
    data |= {k: str(ids.get(v, v)) for k, v in change.items()}
    before = await table_counts(acme, "crm_tickets", "crm_ticket_messages", "crm_number_sequences")
    async with customer_browser(app, acme, shop.a.email) as b:
        r = await b.post("/portal/tickets", data)
    assert r.status_code == 422
    assert "Please correct the highlighted fields." in r.text
    assert field_message in r.text
    assert await table_counts(acme, "crm_tickets", "crm_ticket_messages", "crm_number_sequences") == before


async def test_replying_reopens_the_conversation_and_bad_replies_change_nothing(app, acme, shop):
    async with in_tenant(acme.slug) as (session, _):
        ticket = await ticket_for(session, shop.a, f"Pending {mark()}", status="pending")
        closed = await ticket_for(session, shop.a, f"Closed {mark()}", status="closed")
    async with customer_browser(app, acme, shop.a.email) as b:
        ok = await b.post(f"/portal/tickets/{ticket.id}/messages", {"body": "Still broken, sorry."})
        page = await b.get(f"/portal/tickets/{ticket.id}")
        before = await table_counts(acme, "crm_ticket_messages")
        empty = await b.post(f"/portal/tickets/{ticket.id}/messages", {"body": "   "})
        late = await b.post(f"/portal/tickets/{closed.id}/messages", {"body": "One more thing"})
        after = await table_counts(acme, "crm_ticket_messages")
    assert (ok.status_code, ok.headers["location"]) == (303, f"/portal/tickets/{ticket.id}#latest")
    assert "Still broken, sorry." in page.text
    assert "Your message is sent." in page.text
    assert empty.status_code == 422
    assert "This field is required." in empty.text
    assert late.status_code == 409
    assert "This ticket is closed. Please open a new ticket." in late.text
    assert after == before
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(Ticket, ticket.id)).status == "open"
        mine = (
            await session.execute(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
        ).scalar_one()
    assert (mine.author_kind, mine.author_user_id, mine.is_internal) == ("customer", shop.a.user_id, False)


# --- surveys ---------------------------------------------------------------------------------


async def test_answering_a_survey_once(app, acme, shop):
    async with in_tenant(acme.slug) as (session, _):
        done = await ticket_for(session, shop.a, f"Fixed {mark()}", status="closed")
        survey = await survey_for(session, done, seed=mark())
    async with customer_browser(app, acme, shop.a.email) as b:
        waiting = (await b.get("/portal/surveys")).text
        bad = await b.post(f"/portal/surveys/{survey.id}", {"csat": "9", "nps": ""})
        ok = await b.post(f"/portal/surveys/{survey.id}", {"csat": "4", "nps": "9", "comment": "Quick fix"})
        again = await b.post(
            f"/portal/surveys/{survey.id}", {"csat": "1", "nps": "0", "comment": "changed mind"}
        )
        answered = (await b.get("/portal/surveys")).text
    assert done.subject in waiting
    assert "B closed" not in waiting
    assert bad.status_code == 422
    assert '<div class="field-error" id="csat-error">Must be at most 5.</div>' in bad.text
    assert '<div class="field-error" id="nps-error">This field is required.</div>' in bad.text
    assert (ok.status_code, ok.headers["location"]) == (303, "/portal/surveys")
    assert again.status_code == 409
    assert "This survey has already been answered. Thank you!" in again.text
    assert "★★★★☆" in answered
    async with in_tenant(acme.slug) as (session, _):
        stored = await session.get(Survey, survey.id)
    assert (stored.csat, stored.nps, stored.comment) == (4, 9, "Quick fix")


async def test_another_accounts_survey_is_not_found(app, acme, shop):
    async with customer_browser(app, acme, shop.a.email) as b:
        read = await b.get(f"/portal/surveys/{shop.b_survey.id}")
        answer = await b.post(f"/portal/surveys/{shop.b_survey.id}", {"csat": "5", "nps": "10"})
    assert (read.status_code, answer.status_code) == (404, 404)
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(Survey, shop.b_survey.id)).answered_at is None


async def test_a_sign_in_linked_to_no_contact_finds_no_records(app, acme, shop):
    async with in_tenant(acme.slug) as (session, _):
        loner = await customer_user(session, f"loner.{mark()}@customer.example", "Lone Customer")
    async with customer_browser(app, acme, loner.email) as b:
        home = await b.get("/portal")
        order = await b.get(f"/portal/orders/{shop.orders['confirmed'].id}")
        ticket = await b.get(f"/portal/tickets/{shop.ticket.id}")
    assert home.status_code == 403
    assert "Your sign-in is not linked to a customer account yet" in home.text
    assert (order.status_code, ticket.status_code) == (404, 404)


# --- invoices, once finance registers them ---------------------------------------------------


async def test_invoices_appear_only_once_a_context_registers_customer_documents(app, acme, shop, monkeypatch):
    from app.crm import interface
    from portals import nav
    from portals.customer.support import INVOICES_NAV

    monkeypatch.setattr(interface, "_DOCUMENT_SOURCES", [])  # finance registers one on import
    async with customer_browser(app, acme, shop.a.email) as b:
        assert (await b.get("/portal/invoices")).status_code == 404
        invoiced = shop.orders["invoiced"]
        seen: list[int] = []

        async def invoices_of(session, account_id: int) -> list[interface.CustomerDocument]:
            seen.append(account_id)
            return [
                interface.CustomerDocument(
                    kind="Invoice", number="INV-2026-00031", issued_on=invoiced.order_date, status="Open",
                    total=invoiced.total, currency="CNY", amount_due=invoiced.total,
                    sales_order_id=invoiced.id,
                )
            ]  # fmt: skip

        monkeypatch.setattr(interface, "_DOCUMENT_SOURCES", [invoices_of])
        monkeypatch.setattr(nav, "_ITEMS", list(nav._ITEMS))  # the entry it adds goes away after the test
        home = await b.get("/portal")
        listing = await b.get("/portal/invoices")
        order = await b.get(f"/portal/orders/{invoiced.id}")
        other = await b.get(f"/portal/orders/{shop.orders['confirmed'].id}")
    assert INVOICES_NAV.href in nav_links(home.text)
    assert "Latest invoices" in home.text
    assert listing.status_code == 200
    assert "INV-2026-00031" in listing.text
    assert "CN¥226.00" in listing.text
    assert "INV-2026-00031" in order.text
    assert "INV-2026-00031" not in other.text
    assert set(seen) == {shop.a.account_id}
