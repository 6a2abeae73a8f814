"""The product catalogue and price lists (CRM-4): SKUs unique whatever the case, prices and VAT
rates exact, volume breaks picked for the quantity, and every refused write leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.crm.services import price_lists, products
from app.kernel.errors import ValidationFailed
from tests.crm.support import acting_as, table_counts


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}".upper()


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


async def test_a_product_keeps_its_exact_price_and_vat_rate(acme):
    code = sku()
    async with acting_as(acme, "sam") as (session, principal):
        product = await products.create_product(
            session,
            principal,
            {
                "sku": code,
                "name": "A2 打印机",
                "list_price": "4999.9900",
                "tax_rate": "13",
                "unit": "pcs",
                "category": "Printers",
                "currency": "cny",
            },
        )
        pid = product.id
    async with acting_as(acme, "sam") as (session, _):
        stored = await products.get_product(session, pid)
        assert (stored.sku, stored.name, stored.currency, stored.unit, stored.category) == (
            code,
            "A2 打印机",
            "CNY",
            "pcs",
            "Printers",
        )
        assert stored.list_price == Decimal("4999.9900")
        assert stored.tax_rate == Decimal("13.00")
        assert stored.active is True


async def test_skus_are_unique_whatever_the_case(acme):
    code = sku()
    async with acting_as(acme, "sam") as (session, principal):
        await products.create_product(session, principal, {"sku": code, "name": "One", "list_price": "1"})
    before = await table_counts(acme, "crm_products")
    async with acting_as(acme, "sam") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await products.create_product(
                session, principal, {"sku": code.lower(), "name": "Two", "list_price": "1"}
            )
    assert fields_of(exc) == {"sku": "Another product already has the SKU {sku}."}
    assert await table_counts(acme, "crm_products") == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"list_price": "-1"}, {"list_price": "Must be at least {min}."}),
        ({"list_price": "1.23456"}, {"list_price": "Use at most {n} decimal places."}),
        ({"tax_rate": "101"}, {"tax_rate": "Must be at most {max}."}),
        ({"tax_rate": "-3"}, {"tax_rate": "Must be at least {min}."}),
        ({"sku": "A B"}, {"sku": "Use letters, digits and - _ . / only."}),
        ({"name": ""}, {"name": "This field is required."}),
        ({"currency": "RMB1"}, {"currency": "Use a three-letter currency code (CNY, TWD, USD…)."}),
        ({"list_price": "abc"}, {"list_price": "Enter a number."}),
    ],
)
async def test_bad_product_input_is_refused_and_nothing_is_written(acme, data, expected):
    before = await table_counts(acme, "crm_products")
    async with acting_as(acme, "sam") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await products.create_product(
                session, principal, {"sku": sku(), "name": "Widget", "list_price": "10", **data}
            )
    assert fields_of(exc) == expected
    assert await table_counts(acme, "crm_products") == before


async def test_a_product_can_be_switched_off_and_renamed(acme):
    async with acting_as(acme, "sam") as (session, principal):
        product = await products.create_product(
            session, principal, {"sku": sku(), "name": "Old", "list_price": "5"}
        )
    async with acting_as(acme, "sam") as (session, principal):
        await products.update_product(session, principal, product.id, {"name": "New", "active": False})
    async with acting_as(acme, "sam") as (session, _):
        stored = await products.get_product(session, product.id)
        assert (stored.name, stored.active, stored.list_price) == ("New", False, Decimal("5.0000"))


async def test_the_best_volume_break_prices_the_quantity(acme):
    async with acting_as(acme, "sam") as (session, principal):
        product = await products.create_product(
            session, principal, {"sku": sku(), "name": "Toner", "list_price": "80"}
        )
        plist = await price_lists.create_price_list(
            session, principal, {"name": f"Dealers {uuid.uuid4().hex[:6]}", "currency": "CNY"}
        )
        for qty, price in (("1", "75"), ("10", "70"), ("100", "62.5")):
            await price_lists.add_item(
                session,
                principal,
                plist.id,
                {"product_id": product.id, "min_quantity": qty, "unit_price": price},
            )
    async with acting_as(acme, "sam") as (session, _):
        prices = [
            await price_lists.price_for(session, plist.id, product.id, Decimal(q))
            for q in ("0.5", "1", "9.999", "10", "99", "100", "5000")
        ]
    assert prices == [
        None,
        Decimal("75"),
        Decimal("75"),
        Decimal("70"),
        Decimal("70"),
        Decimal("62.5"),
        Decimal("62.5"),
    ]


async def test_the_same_break_twice_is_refused(acme):
    async with acting_as(acme, "sam") as (session, principal):
        product = await products.create_product(
            session, principal, {"sku": sku(), "name": "Ink", "list_price": "8"}
        )
        plist = await price_lists.create_price_list(
            session, principal, {"name": f"PL {uuid.uuid4().hex[:6]}"}
        )
        await price_lists.add_item(
            session, principal, plist.id, {"product_id": product.id, "min_quantity": "10", "unit_price": "7"}
        )
    before = await table_counts(acme, "crm_price_list_items")
    async with acting_as(acme, "sam") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await price_lists.add_item(
                session,
                principal,
                plist.id,
                {"product_id": product.id, "min_quantity": "10.000", "unit_price": "6"},
            )
    assert fields_of(exc) == {
        "min_quantity": "This product already has a price from {quantity} on this list."
    }
    assert await table_counts(acme, "crm_price_list_items") == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"unit_price": "-0.01"}, {"unit_price": "Must be at least {min}."}),
        ({"min_quantity": "0"}, {"min_quantity": "Must be greater than zero."}),
        ({"min_quantity": "-5"}, {"min_quantity": "Must be greater than zero."}),
        ({"product_id": "999999999"}, {"product_id": "Choose an existing product."}),
        ({"product_id": ""}, {"product_id": "Choose a product."}),
    ],
)
async def test_bad_price_list_items_are_refused(acme, data, expected):
    async with acting_as(acme, "sam") as (session, principal):
        product = await products.create_product(
            session, principal, {"sku": sku(), "name": "P", "list_price": "8"}
        )
        plist = await price_lists.create_price_list(
            session, principal, {"name": f"PL {uuid.uuid4().hex[:6]}"}
        )
    before = await table_counts(acme, "crm_price_list_items")
    async with acting_as(acme, "sam") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await price_lists.add_item(
                session, principal, plist.id, {"product_id": product.id, "unit_price": "5", **data}
            )
    assert fields_of(exc) == expected
    assert await table_counts(acme, "crm_price_list_items") == before


async def test_one_default_price_list_per_currency(acme):
    tag = uuid.uuid4().hex[:6]
    async with acting_as(acme, "sam") as (session, principal):
        first = await price_lists.create_price_list(
            session, principal, {"name": f"USD A {tag}", "currency": "USD", "is_default": True}
        )
        eur = await price_lists.create_price_list(
            session, principal, {"name": f"EUR {tag}", "currency": "EUR", "is_default": True}
        )
        second = await price_lists.create_price_list(
            session, principal, {"name": f"USD B {tag}", "currency": "USD", "is_default": "on"}
        )
    async with acting_as(acme, "sam") as (session, _):
        stored = {p.id: p.is_default for p in await price_lists.all_price_lists(session)}
        assert (stored[first.id], stored[second.id], stored[eur.id]) == (False, True, True)
        default = await price_lists.default_price_list(session, "USD", date.today())
        assert default is not None
        assert default.id == second.id


async def test_price_list_validity_must_be_a_forward_range(acme):
    before = await table_counts(acme, "crm_price_lists")
    async with acting_as(acme, "sam") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await price_lists.create_price_list(
                session,
                principal,
                {
                    "name": f"Bad {uuid.uuid4().hex[:6]}",
                    "valid_from": date.today().isoformat(),
                    "valid_to": (date.today() - timedelta(days=1)).isoformat(),
                },
            )
    assert fields_of(exc) == {"valid_to": "The end date must not be before the start date."}
    assert await table_counts(acme, "crm_price_lists") == before


# --- the portal pages ------------------------------------------------------------------------


async def test_a_manager_creates_a_product_and_prices_it_in_the_portal(app, acme):
    from tests.helpers import signed_in

    code = sku()
    async with signed_in(app, acme, "sam") as b:
        r = await b.get("/sales/products/new")
        assert r.status_code == 200, r.text
        r = await b.post(
            "/sales/products",
            {
                "sku": code,
                "name": "碳粉盒 TN-2",
                "list_price": "88.5",
                "currency": "CNY",
                "tax_rate": "13",
                "unit": "box",
                "active": "1",
            },
        )
        assert r.status_code == 303, r.text
        product_url = r.headers["location"]
        r = await b.get(product_url)
        assert "碳粉盒 TN-2" in r.text
        assert 'value="88.50"' in r.text
        r = await b.post("/sales/price-lists", {"name": f"Dealers {code}", "currency": "CNY", "active": "1"})
        assert r.status_code == 303, r.text
        plist_url = r.headers["location"]
        pid = int(product_url.rsplit("/", 1)[1])
        r = await b.post(
            f"{plist_url}/items", {"product_id": str(pid), "min_quantity": "10", "unit_price": "79.9"}
        )
        assert r.status_code == 303, r.text
        r = await b.get(plist_url)
        assert "碳粉盒 TN-2" in r.text
        assert "CN¥79.90" in r.text
        r = await b.get("/sales/products", params={"q": code})
        assert code in r.text
        assert "CN¥88.50" in r.text
        r = await b.get("/sales/products/export.csv", params={"q": code})
        assert r.status_code == 200
        assert (
            r.text.lstrip("\ufeff").splitlines()[1].startswith(f"{code},碳粉盒 TN-2,,box,88.5000,CNY,13.00")
        )


async def test_the_portal_re_renders_a_bad_product_with_its_errors(app, acme):
    from tests.helpers import signed_in

    before = await table_counts(acme, "crm_products")
    async with signed_in(app, acme, "sam") as b:
        await b.get("/sales/products/new")
        r = await b.post(
            "/sales/products", {"sku": sku(), "name": "Bad", "list_price": "-3", "tax_rate": "120"}
        )
    assert r.status_code == 422
    assert "Must be at least 0." in r.text
    assert "Must be at most 100." in r.text
    assert await table_counts(acme, "crm_products") == before


async def test_reps_read_the_catalogue_but_cannot_change_it(app, acme):
    from tests.helpers import signed_in

    async with signed_in(app, acme, "alice") as b:
        assert (await b.get("/sales/products")).status_code == 200
        assert (await b.get("/sales/price-lists")).status_code == 200
        assert (await b.get("/sales/products/new")).status_code == 403
        r = await b.post("/sales/products", {"sku": sku(), "name": "X", "list_price": "1"})
        assert r.status_code == 403
