"""The payables pages: the accountant enters a supplier, a bill with split and taxed lines, pays it
in part, allocates the advance, cancels a bill, reads the ageing and statement; refused input
re-renders with each error beside its field or row (422, nothing written); a sales rep is
refused."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.finance.payables_support import (
    bill_input,
    counts,
    enter,
    line,
    make_centres,
    make_split_rule,
    make_supplier,
    pay,
    unique,
)
from tests.finance.support import codes, fresh_month
from tests.helpers import signed_in

PAGES = [
    "/finance/suppliers",
    "/finance/suppliers/new",
    "/finance/bills",
    "/finance/bills/new",
    "/finance/supplier-payments",
    "/finance/supplier-payments/new",
    "/finance/payables/ageing",
]


def bill_form(supplier_id: int, on, rows: dict[int, dict[str, str]], **extra: str) -> dict[str, str]:
    data = {
        "supplier_id": str(supplier_id),
        "supplier_reference": unique("INV"),
        "bill_date": on.isoformat(),
        **extra,
    }
    for k, values in rows.items():
        data |= {f"lines.{k}.{f}": v for f, v in values.items()}
    return data


def location_id(response) -> int:
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_the_accountant_keeps_suppliers(app, acme):
    code = unique("S")
    async with signed_in(app, acme, "bob") as b:
        for page in PAGES:
            r = await b.get(page)
            assert r.status_code == 200, page
        assert 'href="/finance/payables/ageing"' in r.text  # navigation
        await b.get("/finance/suppliers/new")
        created = await b.post(
            "/finance/suppliers",
            {
                "code": code,
                "name": "杭州纸业有限公司",
                "payment_terms_days": "45",
                "currency": "",
                "email": "",
            },
        )
        assert created.status_code == 303, created.text
        sid = location_id(created)
        page = await b.get(f"/finance/suppliers/{sid}")
        assert "杭州纸业有限公司" in page.text
        listed = await b.get(f"/finance/suppliers?q={code}")
        assert f'href="/finance/suppliers/{sid}"' in listed.text
        await b.get(f"/finance/suppliers/{sid}/edit")
        edited = await b.post(
            f"/finance/suppliers/{sid}", {"code": code, "name": "杭州纸业", "payment_terms_days": "0"}
        )
        assert edited.status_code == 303
        off = await b.post(f"/finance/suppliers/{sid}/deactivate", {})
        assert off.status_code == 303
        inactive = await b.get(f"/finance/suppliers?q={code}&f_active=no")
        assert f'href="/finance/suppliers/{sid}"' in inactive.text
        on_again = await b.post(f"/finance/suppliers/{sid}/activate", {})
        assert on_again.status_code == 303
        gone = await b.post(f"/finance/suppliers/{sid}/delete", {})
        assert (gone.status_code, gone.headers["location"]) == (303, "/finance/suppliers")
        assert (await b.get(f"/finance/suppliers/{sid}")).status_code == 404


async def test_a_refused_supplier_form_re_renders_and_writes_nothing(app, acme):
    taken = unique("S")
    used = await make_supplier(acme, code=taken)
    await enter(acme, bill_input(used, fresh_month()))
    before = await counts(acme)
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/suppliers/new")
        duplicate = await b.post("/finance/suppliers", {"code": taken, "name": "Again"})
        terms = await b.post(
            "/finance/suppliers", {"code": unique("S"), "name": "", "payment_terms_days": "999"}
        )
        edit = await b.post(f"/finance/suppliers/{used}", {"code": taken, "name": "X", "email": "nope"})
        delete = await b.post(f"/finance/suppliers/{used}/delete", {})
        detail = await b.get(f"/finance/suppliers/{used}")
    assert duplicate.status_code == 422
    assert 'id="code-error"' in duplicate.text
    assert terms.status_code == 422
    assert 'id="name-error"' in terms.text
    assert 'id="payment_terms_days-error"' in terms.text
    assert 'value="999"' in terms.text  # what was typed is kept
    assert edit.status_code == 422
    assert 'id="email-error"' in edit.text
    assert delete.status_code == 303  # refused with a message
    assert "cannot be deleted" in detail.text
    assert await counts(acme) == before


async def test_the_accountant_enters_a_bill_with_splits_and_pays_it(app, acme):
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme)
    a, b_, z = await make_centres(acme, 3)
    thirds = await make_split_rule(acme, [(a, "33.33"), (b_, "33.33"), (z, "33.34")])
    async with signed_in(app, acme, "bob") as b:
        form = await b.get(f"/finance/bills/new?supplier_id={supplier}")
        assert f'<option value="{supplier}" selected' in form.text
        assert f'<option value="{thirds}"' in form.text
        r = await b.post(
            "/finance/bills",
            bill_form(
                supplier,
                on,
                {
                    0: {
                        "description": "Rent",
                        "net_amount": "1,000.00",
                        "tax_rate": "RED",
                        "split_rule": thirds,
                    },
                    2: {
                        "description": "Toner",
                        "net_amount": "0.10",
                        "account": c["admin_expense"],
                        "cost_centre": a,
                    },
                },
                supplier_reference="PAPER-77",
            ),
        )
        assert r.status_code == 303, r.text
        bill_id = location_id(r)
        page = await b.get(f"/finance/bills/{bill_id}")
        assert f"BILL-{on.year}-00001" in page.text
        assert "PAPER-77" in page.text
        assert "333.30" in page.text  # 33.33 % of 1,000.00 ...
        assert "333.40" in page.text  # ... and the last share takes the rest
        assert "1,050.10" in page.text  # 1,000.00 + 5 % VAT + 0.10
        assert re.search(r'href="/finance/entries/\d+"', page.text)
        listed = await b.get("/finance/bills?q=PAPER-77&f_status=open")
        assert f'href="/finance/bills/{bill_id}"' in listed.text
        csv = await b.get("/finance/bills/export.csv?q=PAPER-77")
        assert csv.headers["content-type"].startswith("text/csv")
        assert f"BILL-{on.year}-00001" in csv.text
        assert "1050.10" in csv.text

        pay_form = await b.get(f"/finance/supplier-payments/new?supplier_id={supplier}")
        assert f'name="allocations.0.bill_id" value="{bill_id}"' in pay_form.text
        paid = await b.post(
            "/finance/supplier-payments",
            {
                "supplier_id": str(supplier),
                "payment_date": (on + timedelta(days=1)).isoformat(),
                "amount": "1,100.00",
                "method": "bank_transfer",
                "bank_account": c["bank"],
                "reference": "TT-42",
                "allocations.0.bill_id": str(bill_id),
                "allocations.0.amount": "1000.00",
            },
        )
        assert paid.status_code == 303, paid.text
        payment_id = location_id(paid)
        detail = await b.get(f"/finance/supplier-payments/{payment_id}")
        assert f"PAY-{on.year}-00001" in detail.text
        assert 'id="payment-unallocated">100.00' in detail.text
        allocated = await b.post(
            f"/finance/supplier-payments/{payment_id}/allocations",
            {
                "on": (on + timedelta(days=2)).isoformat(),
                "allocations.0.bill_id": str(bill_id),
                "allocations.0.amount": "50.10",
            },
        )
        assert allocated.status_code == 303, allocated.text
        bill_page = await b.get(f"/finance/bills/{bill_id}")
        assert 'id="bill-open">0.00' in bill_page.text
        ageing = await b.get(f"/finance/payables/ageing?as_of={(on + timedelta(days=2)).isoformat()}&check=1")
        assert ageing.status_code == 200
        assert 'id="ap-check"' in ageing.text
        export = await b.get(f"/finance/payables/ageing.csv?as_of={(on + timedelta(days=2)).isoformat()}")
        assert export.headers["content-type"].startswith("text/csv")
        until = (on + timedelta(days=5)).isoformat()
        statement = await b.get(f"/finance/suppliers/{supplier}/statement?from={on.isoformat()}&to={until}")
        assert 'id="statement-closing">-49.90' in statement.text  # 1,050.10 billed, 1,100.00 paid


async def test_a_refused_bill_re_renders_with_errors_beside_their_rows_and_writes_nothing(app, acme):
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme)
    await enter(acme, bill_input(supplier, on, supplier_reference="TAKEN-1"))
    before = await counts(acme)
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/bills/new")
        rows = await b.post(
            "/finance/bills",
            bill_form(
                supplier,
                on,
                {
                    0: {"description": "Paper", "net_amount": "abc"},
                    3: {"description": "Chairs", "net_amount": "10.00", "account": c["revenue"]},
                },
            ),
        )
        duplicate = await b.post(
            "/finance/bills",
            bill_form(
                supplier, on, {0: {"description": "x", "net_amount": "1"}}, supplier_reference="taken-1"
            ),
        )
        currency = await b.post(
            "/finance/bills",
            bill_form(supplier, on, {0: {"description": "x", "net_amount": "1"}}, currency="USD"),
        )
        nothing = await b.post("/finance/bills", bill_form(supplier, on, {}, bill_date=""))
    assert rows.status_code == 422
    assert 'id="lines.0.net_amount-error"' in rows.text
    assert 'id="lines.3.account-error"' in rows.text  # the row it came from, not the 2nd filled one
    assert 'value="Chairs"' in rows.text
    assert duplicate.status_code == 422
    assert 'id="supplier_reference-error"' in duplicate.text
    assert currency.status_code == 422
    assert 'id="currency-error"' in currency.text
    assert nothing.status_code == 422
    assert 'id="bill_date-error"' in nothing.text
    assert 'id="lines-error"' in nothing.text
    assert await counts(acme) == before


async def test_refused_payments_allocations_and_cancellations_write_nothing(app, acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    bill = await enter(acme, bill_input(supplier, on, [line("100.00")]))
    paid = await enter(acme, bill_input(supplier, on, [line("10.00")]))
    advance = await pay(acme, supplier, on, "30.00", [(paid.id, "10.00")])
    before = await counts(acme)
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/supplier-payments/new")
        over = await b.post(
            "/finance/supplier-payments",
            {
                "supplier_id": str(supplier),
                "payment_date": on.isoformat(),
                "amount": "500.00",
                "allocations.0.bill_id": str(bill.id),
                "allocations.0.amount": "",
                "allocations.1.bill_id": str(bill.id),
                "allocations.1.amount": "100.01",
            },
        )
        no_amount = await b.post(
            "/finance/supplier-payments", {"supplier_id": str(supplier), "payment_date": on.isoformat()}
        )
        allocate = await b.post(
            f"/finance/supplier-payments/{advance.id}/allocations",
            {"on": on.isoformat(), "allocations.0.bill_id": str(bill.id), "allocations.0.amount": "25.00"},
        )
        cancel_paid = await b.post(f"/finance/bills/{paid.id}/cancel", {"on": on.isoformat()})
        cancel_bad_date = await b.post(f"/finance/bills/{bill.id}/cancel", {"on": "soon"})
        bad_as_of = await b.get("/finance/payables/ageing?as_of=yesterday")
        bad_range = await b.get(f"/finance/suppliers/{supplier}/statement?from=2050-01-02&to=2050-01-01")
    assert over.status_code == 422
    assert 'id="allocations.1.amount-error"' in over.text
    assert no_amount.status_code == 422
    assert 'id="amount-error"' in no_amount.text
    assert allocate.status_code == 422
    assert 'id="allocations-error"' in allocate.text  # only 20.00 of the advance is left
    assert cancel_paid.status_code == 422
    assert "cannot be cancelled" in cancel_paid.text
    assert cancel_bad_date.status_code == 422
    assert 'id="on-error"' in cancel_bad_date.text
    assert bad_as_of.status_code == 422
    assert bad_range.status_code == 422
    assert await counts(acme) == before


async def test_the_accountant_cancels_a_bill(app, acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    bill = await enter(acme, bill_input(supplier, on))
    async with signed_in(app, acme, "bob") as b:
        await b.get(f"/finance/bills/{bill.id}")
        r = await b.post(f"/finance/bills/{bill.id}/cancel", {"on": (on + timedelta(days=3)).isoformat()})
        assert r.status_code == 303
        page = await b.get(f"/finance/bills/{bill.id}")
    assert "Cancelled by" in page.text
    assert 'id="bill-cancel"' not in page.text


async def test_sales_reps_have_no_payables_pages(app, acme):
    supplier = await make_supplier(acme)
    bill = await enter(acme, bill_input(supplier, fresh_month()))
    async with signed_in(app, acme, "alice") as b:
        for page in [*PAGES, f"/finance/suppliers/{supplier}", f"/finance/bills/{bill.id}"]:
            r = await b.get(page)
            assert r.status_code == 403, page
        refused = await b.post("/finance/suppliers", {"code": unique("S"), "name": "Sneaky"})
        assert refused.status_code == 403
        home = await b.get("/")
    assert "/finance/suppliers" not in home.text
