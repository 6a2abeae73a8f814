"""Exports of the statements, the trial balance and an account ledger: the files are read back —
CSV as CSV, XLSX as its zip of XML parts, PDF by inflating its content streams and reading the
text it draws (Chinese account names in the CID font are UTF-16 strings there)."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import re
import zipfile
import zlib

import pytest

from tests.finance.statement_books import cas_books, ifrs_books
from tests.helpers import signed_in
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

PNL = "/finance/profit-and-loss/export?from=2026-01-01&to=2026-03-31&compare=year"
BS = "/finance/balance-sheet/export?as_of=2026-03-31&compare=year_start"
CASH = "/finance/cash-report/export?from=2026-01-01&to=2026-03-31&compare=previous"


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_parts(body: bytes) -> tuple[str, str]:
    """(the first sheet's XML, the shared strings' XML)."""
    assert body[:2] == b"PK"
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return z.read("xl/worksheets/sheet1.xml").decode(), z.read("xl/sharedStrings.xml").decode()


def _unescape(literal: bytes) -> bytes:
    out, i = bytearray(), 0
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    while i < len(literal):
        ch = literal[i : i + 1]
        if ch != b"\\":
            out += ch
            i += 1
            continue
        nxt = literal[i + 1 : i + 2]
        m = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if m:
            out.append(int(m.group(), 8))
            i += 1 + len(m.group())
        else:
            out += simple.get(nxt, nxt)
            i += 2
    return bytes(out)


def pdf_text(body: bytes) -> bytes:
    """Every string the PDF's pages draw, one per line (latin-1 or UTF-16BE bytes)."""
    assert body.startswith(b"%PDF-")
    assert body.rstrip().endswith(b"%%EOF")
    found = []
    for stream in re.findall(rb"(?<!end)stream\r?\n(.*?)\r?\n?endstream", body, re.S):
        content = stream.strip()
        if content.endswith(b"~>"):  # reportlab's /ASCII85Decode /FlateDecode page streams
            content = base64.a85decode(content, adobe=True)
        with contextlib.suppress(zlib.error):
            content = zlib.decompress(content)
        found += [_unescape(s[1:-1]) for s in re.findall(rb"\((?:\\.|[^\\)])*\)", content, re.S)]
    return b"\n".join(found)


@pytest.fixture
async def books(make_tenant):  # noqa: F811
    return await ifrs_books(await make_tenant("fsx"))


async def test_the_profit_and_loss_as_csv_xlsx_and_pdf(app, books):
    async with signed_in(app, books.tenant, "ada") as b:
        as_csv = await b.get(f"{PNL}&format=csv")
        as_xlsx = await b.get(f"{PNL}&format=xlsx")
        as_pdf = await b.get(f"{PNL}&format=pdf")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="profit-and-loss-2026-01-01-2026-03-31.csv"' in as_csv.headers["content-disposition"]
    rows = read_csv(as_csv.content)
    assert rows[0] == [
        "Code",
        "Line item",
        "1 Jan 2026 – 31 Mar 2026",
        "1 Jan 2025 – 31 Mar 2025",
        "Change",
        "Change %",
    ]
    by_label = {r[1]: r[2:] for r in rows[1:]}
    assert by_label["Net profit"] == ["1850.00", "500.00", "1350.00", "270.0"]
    assert by_label["Revenue from sales of goods"] == ["3000.00", "500.00", "2500.00", "500.0"]
    assert next(r[:2] for r in rows if r[0] == "4000") == ["4000", "Revenue from sales of goods"]

    assert as_xlsx.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert as_xlsx.headers["cache-control"] == "no-store"
    sheet, strings = xlsx_parts(as_xlsx.content)
    assert "Revenue from sales of goods" in strings
    assert "Net profit" in strings
    assert "<v>1850</v>" in sheet  # money is a number, not text
    assert "<v>270</v>" in sheet

    assert as_pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(as_pdf.content)
    assert b"Profit and loss" in text
    assert b"Revenue from sales of goods" in text
    assert b"1,850.00" in text
    assert b"270.0%" in text


async def test_the_balance_sheet_and_cash_report_files(app, books):
    async with signed_in(app, books.tenant, "ada") as b:
        bs = await b.get(f"{BS}&format=csv")
        bs_pdf = await b.get(f"{BS}&format=pdf")
        cash = await b.get(f"{CASH}&format=csv")
        cash_xlsx = await b.get(f"{CASH}&format=xlsx")
    rows = read_csv(bs.content)
    totals = {r[1]: r[2:4] for r in rows[1:]}
    assert totals["Total assets"] == ["3940.00", "500.00"]
    assert totals["Total liabilities and equity"] == ["3940.00", "500.00"]
    assert totals["Profit or loss of the year not yet closed"] == ["1850.00", "500.00"]
    assert b"Assets equal liabilities and equity." in pdf_text(bs_pdf.content)
    rows = read_csv(cash.content)
    assert rows[0][:3] == ["Code", "Line item", "1 Jan 2026 – 31 Mar 2026"]
    assert ["", "Receipts from customers", "1130.00", "0.00", "1130.00", ""] in rows
    # The second table (each cash account) follows after a blank row, with its own header.
    assert ["Code", "Account", "Opening balance", "Money in", "Money out", "Closing balance"] in rows
    assert ["1010", "Cash at bank", "500.00", "1130.00", "450.00", "1180.00"] in rows
    assert ["", "Total", "500.00", "1230.00", "450.00", "1280.00"] in rows
    _, strings = xlsx_parts(cash_xlsx.content)
    assert "Money in and out by source" in strings
    assert "Cash and bank accounts" in strings


async def test_the_trial_balance_and_the_ledger_files(app, books):
    bank = books.accounts["1010"]
    ledger = f"/finance/accounts/{bank}/ledger/export?from=2026-01-01&to=2026-03-31"
    async with signed_in(app, books.tenant, "ada") as b:
        tb = await b.get("/finance/trial-balance/export?period=2026-03&format=csv")
        tb_pdf = await b.get("/finance/trial-balance/export?period=2026-03&format=pdf")
        as_csv = await b.get(f"{ledger}&format=csv")
        as_xlsx = await b.get(f"{ledger}&format=xlsx")
        as_pdf = await b.get(f"{ledger}&format=pdf")
        bad_period = await b.get("/finance/trial-balance/export?period=2026-13&format=csv")
    rows = read_csv(tb.content)
    assert rows[0][2] == "Opening balance · Debit"
    assert ["1010", "Cash at bank", "1280.00", "0.00", "0.00", "100.00", "1180.00", "0.00"] in rows
    assert rows[-1][1] == "Total"
    assert rows[-1][2] == rows[-1][3]  # opening debits = credits
    assert b"Trial balance" in pdf_text(tb_pdf.content)
    rows = read_csv(as_csv.content)
    assert rows[0] == ["Date", "Voucher", "Memo", "Partner", "Source", "Debit", "Credit", "Balance"]
    assert rows[1][2:] == ["Opening balance", "", "", "", "", "500.00"]
    receipt = rows[2]
    assert receipt[0] == "2026-02-05"
    assert receipt[3:] == ["Account books", "Payment", "1130.00", "0.00", "1630.00"]
    assert rows[-1][2:] == ["Totals and closing balance", "", "", "1130.00", "450.00", "1180.00"]
    sheet, strings = xlsx_parts(as_xlsx.content)
    assert "Cash at bank" in strings
    assert "<v>1180</v>" in sheet
    assert b"Account books" in pdf_text(as_pdf.content)
    assert bad_period.status_code == 422


async def test_chinese_account_names_in_the_files(app, make_tenant):  # noqa: F811
    books = await cas_books(await make_tenant("fsxz", locale="zh_Hans"))
    async with signed_in(app, books.tenant, "ada") as b:
        as_csv = await b.get(f"{PNL}&format=csv")
        as_xlsx = await b.get(f"{PNL}&format=xlsx")
        as_pdf = await b.get(f"{BS}&format=pdf")
    assert next(r[:2] for r in read_csv(as_csv.content) if r[0] == "6001") == ["6001", "主营业务收入"]
    _, strings = xlsx_parts(as_xlsx.content)
    assert "管理费用-办公费" in strings
    text = pdf_text(as_pdf.content)
    assert "应交税费".encode("utf-16-be") in text
    assert "库存商品".encode("utf-16-be") in text
    assert b"STSong-Light" in as_pdf.content  # the built-in CID font: nothing to ship or download


async def test_exports_refuse_bad_parameters(app, acme):
    async with signed_in(app, acme, "bob") as b:
        fmt = await b.get("/finance/cash-report/export?from=2026-01-01&to=2026-01-31&format=docx")
        no_fmt = await b.get("/finance/trial-balance/export?period=2026-01")
        dates = await b.get("/finance/profit-and-loss/export?from=2026-01-31&to=2026-01-01&format=csv")
    async with signed_in(app, acme, "alice") as rep:
        refused = await rep.get(f"{PNL}&format=pdf")
    assert fmt.status_code == 422
    assert no_fmt.status_code == 422
    assert dates.status_code == 422
    assert refused.status_code == 403
