"""CSV exports of the customer portal's lists (CRM-12, PLAT-13): a customer's orders and tickets
exactly as the list shows them — the list's own statement (their account only, never a draft),
its filter, search and sort — and never a row of another customer's account."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from app.crm.models import SalesOrder, Ticket
from app.security.models import User
from tenants.service import in_tenant
from tests.crm.factories.portal import (
    Customer,
    carols_customer,
    customer_account,
    customer_browser,
    order_for,
    ticket_for,
)
from tests.crm.factories.sales import product_row
from tests.helpers import signed_in


def mark() -> str:
    return uuid.uuid4().hex[:8]


def parse(r: Any) -> list[list[str]]:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))


def export_link(page: str, link_id: str) -> str:
    found = re.search(rf'<a class="btn btn-sm" href="([^"]+)" id="{link_id}" download>', page)
    assert found, f"no {link_id} link"
    return html.unescape(found.group(1))


def query_of(link: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(link).query))


def listed_orders(page: str) -> list[str]:
    return re.findall(r'<a href="/portal/orders/\d+"><strong>([^<]+)</strong></a>', page)


def listed_tickets(page: str) -> list[str]:
    return re.findall(r'<a href="/portal/tickets/\d+"><strong>([^<]+)</strong></a>', page)


@dataclass
class Accounts:
    m: str
    carol: Customer
    other: Customer  # a customer of another account of the same tenant
    carol_orders: dict[str, SalesOrder]  # by status, each with the marker as customer reference
    other_order: SalesOrder
    carol_tickets: dict[str, Ticket]  # by status, subjects with the marker
    other_ticket: Ticket


@pytest.fixture(scope="module")
async def accounts(acme) -> Accounts:
    m = mark()
    async with in_tenant(acme.slug) as (session, ref):
        carol = await carols_customer(session, ref, f"carol{m}")
        other = await customer_account(session, f"x{m}")
        widget = await product_row(session, f"EXP{m}", "100.00", "13", name=f"Widget {m}")
        carol_orders = {}
        for status in ("draft", "confirmed", "fulfilled", "invoiced", "cancelled"):
            order = await order_for(session, carol.account_id, status, [(widget, "2")])
            order.customer_reference = f"REF-{m}"
            carol_orders[status] = order
        other_order = await order_for(session, other.account_id, "confirmed", [(widget, "1")])
        other_order.customer_reference = f"REF-{m}"
        carol_tickets = {}
        for status, priority in (
            ("new", "low"),
            ("open", "normal"),
            ("pending", "high"),
            ("resolved", "urgent"),
            ("closed", "normal"),
        ):
            ticket = await ticket_for(session, carol, f"Jam {m} {status}", status=status)
            ticket.priority = priority
            carol_tickets[status] = ticket
        other_ticket = await ticket_for(session, other, f"Jam {m} other")
        other_ticket.created_at = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
        other_ticket.updated_at = datetime(2026, 1, 6, 16, 5, tzinfo=UTC)
        (await session.get(User, other.user_id)).timezone = "Asia/Shanghai"  # type: ignore[union-attr]
        await session.flush()
    return Accounts(m, carol, other, carol_orders, other_order, carol_tickets, other_ticket)


async def _visible_numbers(
    acme: Any, model: Any, account_id: int, statuses: tuple[str, ...] | None
) -> set[str]:
    async with in_tenant(acme.slug) as (session, _):
        stmt = select(model.number).where(model.account_id == account_id)
        if statuses is not None:
            stmt = stmt.where(model.status.in_(statuses))
        return set((await session.execute(stmt)).scalars())


ORDER_STATUSES = ("confirmed", "fulfilled", "invoiced", "cancelled")


# --- orders ----------------------------------------------------------------------------------


async def test_order_export_is_the_list_with_its_search_and_sort(app, acme, accounts):
    a = accounts
    async with customer_browser(app, acme, acme.email("carol")) as b:
        page = await b.get(f"/portal/orders?q=ref-{a.m}&sort=number&dir=asc")
        assert page.status_code == 200
        link = export_link(page.text, "orders-export")
        assert link.startswith("/portal/orders/export.csv?")
        assert query_of(link) == {
            "q": f"ref-{a.m}",
            "sort": "number",
            "dir": "asc",
            "page": "1",
            "per_page": "25",
        }
        rows = parse(await b.get(link))
    assert rows[0] == ["Order", "Order date", "Your reference", "Status", "Total", "Currency"]
    shown = listed_orders(page.text)
    assert [r[0] for r in rows[1:]] == shown  # the same rows, in the same order
    assert sorted(shown) == shown
    expected = {a.carol_orders[s].number: s for s in ORDER_STATUSES}
    assert set(shown) == set(expected)  # never the draft, never the other account's order
    labels = {
        "confirmed": "Confirmed",
        "fulfilled": "Fulfilled",
        "invoiced": "Invoiced",
        "cancelled": "Cancelled",
    }
    for number, date, reference, status, total, currency in rows[1:]:
        order = a.carol_orders[expected[number]]
        assert date == order.order_date.isoformat()
        assert reference == f"REF-{a.m}"
        assert status == labels[expected[number]]  # the status as the customer sees it
        assert (total, currency) == ("226.00", "CNY")


async def test_order_export_filter_narrows_it(app, acme, accounts):
    a = accounts
    async with customer_browser(app, acme, acme.email("carol")) as b:
        open_rows = parse(await b.get(f"/portal/orders/export.csv?q={a.m}&f_status=open"))
        open_page = await b.get(f"/portal/orders?q={a.m}&f_status=open")
        cancelled = parse(await b.get(f"/portal/orders/export.csv?q={a.m}&f_status=cancelled"))
    assert {r[0] for r in open_rows[1:]} == {
        a.carol_orders["confirmed"].number,
        a.carol_orders["fulfilled"].number,
    }
    assert [r[0] for r in open_rows[1:]] == listed_orders(open_page.text)
    assert [r[0] for r in cancelled[1:]] == [a.carol_orders["cancelled"].number]


async def test_order_exports_of_two_accounts_never_mix(app, acme, accounts):
    a = accounts
    async with customer_browser(app, acme, acme.email("carol")) as b:
        carols = parse(await b.get("/portal/orders/export.csv"))
        searched = parse(await b.get(f"/portal/orders/export.csv?q={a.other_order.number}"))
    async with customer_browser(app, acme, a.other.email) as b:
        others = parse(await b.get("/portal/orders/export.csv"))
        page = await b.get("/portal/orders")
    carol_numbers = {r[0] for r in carols[1:]}
    # Every order of carol's account the portal shows (drafts are not), and nothing else.
    assert carol_numbers == await _visible_numbers(acme, SalesOrder, a.carol.account_id, ORDER_STATUSES)
    assert a.other_order.number not in carol_numbers
    assert a.carol_orders["draft"].number not in carol_numbers
    assert searched[1:] == []  # searching for another account's order number finds nothing
    assert [r[0] for r in others[1:]] == [a.other_order.number] == listed_orders(page.text)
    assert others[1][4:] == ["113.00", "CNY"]


async def test_staff_cannot_export_the_portal_lists(app, acme):
    async with signed_in(app, acme, "ada") as b:
        for path in ("/portal/orders/export.csv", "/portal/tickets/export.csv"):
            r = await b.get(path)
            assert r.status_code == 403, path
            assert "text/csv" not in r.headers["content-type"]


# --- tickets ---------------------------------------------------------------------------------


async def test_ticket_export_is_the_list_with_its_search_and_sort(app, acme, accounts):
    a = accounts
    async with customer_browser(app, acme, acme.email("carol")) as b:
        page = await b.get(f"/portal/tickets?q=jam {a.m}&sort=subject&dir=desc")
        assert page.status_code == 200
        link = export_link(page.text, "tickets-export")
        assert link.startswith("/portal/tickets/export.csv?")
        assert query_of(link) == {
            "q": f"jam {a.m}",
            "sort": "subject",
            "dir": "desc",
            "page": "1",
            "per_page": "25",
        }
        rows = parse(await b.get(link))
    assert rows[0] == ["Ticket", "Subject", "Status", "Priority", "Opened on", "Last update"]
    shown = listed_tickets(page.text)
    assert [r[1] for r in rows[1:]] == shown
    assert shown == sorted((t.subject for t in a.carol_tickets.values()), reverse=True)
    assert a.other_ticket.subject not in shown
    by_subject = {r[1]: r for r in rows[1:]}
    expected = {
        "new": ("Received", "Low"),
        "open": ("In progress", "Normal"),
        "pending": ("Waiting for you", "High"),
        "resolved": ("Resolved", "Urgent"),
        "closed": ("Closed", "Normal"),
    }
    for status, ticket in a.carol_tickets.items():
        number, _, shown_status, priority, opened, updated = by_subject[ticket.subject]
        assert number == ticket.number
        assert (shown_status, priority) == expected[status]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", opened)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", updated)


async def test_ticket_export_filter_narrows_it(app, acme, accounts):
    a = accounts
    async with customer_browser(app, acme, acme.email("carol")) as b:
        open_rows = parse(await b.get(f"/portal/tickets/export.csv?q={a.m}&f_state=open"))
        open_page = await b.get(f"/portal/tickets?q={a.m}&f_state=open")
        done = parse(await b.get(f"/portal/tickets/export.csv?q={a.m}&f_state=done"))
    subjects = {s: t.subject for s, t in a.carol_tickets.items()}
    assert {r[1] for r in open_rows[1:]} == {subjects["new"], subjects["open"], subjects["pending"]}
    assert [r[1] for r in open_rows[1:]] == listed_tickets(open_page.text)
    assert {r[1] for r in done[1:]} == {subjects["resolved"], subjects["closed"]}


async def test_ticket_exports_of_two_accounts_never_mix(app, acme, accounts):
    a = accounts
    async with customer_browser(app, acme, acme.email("carol")) as b:
        carols = parse(await b.get("/portal/tickets/export.csv"))
        searched = parse(await b.get(f"/portal/tickets/export.csv?q={a.other_ticket.number}"))
    async with customer_browser(app, acme, a.other.email) as b:
        others = parse(await b.get("/portal/tickets/export.csv"))
        page = await b.get("/portal/tickets")
    carol_numbers = {r[0] for r in carols[1:]}
    assert carol_numbers == await _visible_numbers(acme, Ticket, a.carol.account_id, None)
    assert a.other_ticket.number not in carol_numbers
    assert searched[1:] == []
    assert [r[1] for r in others[1:]] == [a.other_ticket.subject] == listed_tickets(page.text)
    # Times in the reader's time zone (Asia/Shanghai, UTC+8): the day may change.
    assert others[1][4:] == ["2026-01-06 07:30", "2026-01-07 00:05"]


async def test_the_export_links_appear_only_with_rows(app, acme, accounts):
    async with customer_browser(app, acme, acme.email("carol")) as b:
        none = await b.get("/portal/orders?q=no-such-order-anywhere")
        some = await b.get(f"/portal/tickets?q={accounts.m}")
        fragment = await b.htmx("GET", f"/portal/tickets?q={accounts.m}&f_state=done")
    assert 'id="orders-export"' not in none.text
    assert 'id="tickets-export"' in some.text
    assert (
        query_of(export_link(fragment.text, "tickets-export"))["f_state"] == "done"
    )  # htmx swaps keep it current
