"""Statements as files (FIN-5 exports): one ``Report`` — a title, a table — written as CSV, XLSX
or a printable PDF, all built in memory from what the page shows; nothing is fetched at run time.

* CSV — the table only (it is data): UTF-8 with a BOM and formula-safe cells (app/kernel/csvfile.py);
  money as plain decimals ("1234.50"), so a spreadsheet reads numbers.
* XLSX — XlsxWriter (write-only): title and subtitle above the table, money as numbers with a
  thousands format, headings and totals bold, sub-rows indented, the header row frozen. Text is
  always written as text, so an account named "=SUM(…)" is never a formula.
* PDF — reportlab's platypus: A4 (landscape for wide tables), the header row repeated on every
  page, page numbers. Chinese text is set in reportlab's built-in CID font STSong-Light (Adobe-
  GB1: simplified and, through GBK, most traditional characters), which PDF readers supply from
  their own CJK fonts — so no font file ships with Tessera; Latin text uses Helvetica.

    report = Report(title="Profit and loss", subtitle="…", columns=[...], rows=[...], filename="pnl")
    return download(report, "xlsx")
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from babel import numbers
from litestar import Response

from app.finance.errors import InvalidExportFormat
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from portals.exports import csv_download

FORMATS = ("csv", "xlsx", "pdf")
CJK_FONT = "STSong-Light"
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class Column:
    header: str  # shown as given (translated by the caller)
    kind: str = "text"  # text | money | percent | date
    width: float = 1.0  # relative width on paper


@dataclass(frozen=True)
class Row:
    cells: Sequence[Any]  # str | Decimal | date | None, one per column
    style: str = ""  # "" | heading | section | subtotal | total
    indent: int = 0  # of the first column


@dataclass(frozen=True)
class Table:
    columns: list[Column]
    rows: list[Row]
    caption: str = ""  # shown above the table when a report has several


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    tables: list[Table]
    filename: str  # without extension
    landscape: bool = False
    notes: list[str] = field(default_factory=list)  # lines under the tables


def _money(value: Decimal) -> str:
    return numbers.format_decimal(value, format="#,##0.00", locale=i18n.babel_locale())


def _plain(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money" and isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _shown(value: Any, kind: str) -> str:
    """A cell as a reader sees it on paper."""
    if value is None:
        return ""
    if kind == "money" and isinstance(value, Decimal):
        return _money(value) if value else "–"
    if kind == "percent" and isinstance(value, Decimal):
        return f"{numbers.format_decimal(value, format='#,##0.0', locale=i18n.babel_locale())}%"
    if isinstance(value, date):
        return i18n.format_date(value, "short")
    return str(value)


# --- CSV ---------------------------------------------------------------------------------------


def csv_report(report: Report) -> bytes:
    """The tables one after the other; a second table starts after a blank row, with its caption
    and its own header row."""
    first, *more = report.tables
    rows: list[list[str]] = [_csv_row(row, first) for row in first.rows]
    for table in more:
        rows.append([])
        if table.caption:
            rows.append([table.caption])
        rows.append([c.header for c in table.columns])
        rows += [_csv_row(row, table) for row in table.rows]
    return csv_bytes([c.header for c in first.columns], rows)


def _csv_row(row: Row, table: Table) -> list[str]:
    return [_plain(v, c.kind) for v, c in zip(row.cells, table.columns, strict=True)]


# --- XLSX --------------------------------------------------------------------------------------


def _sheet_name(title: str) -> str:
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return (cleaned or "Report")[:31]


def xlsx_report(report: Report) -> bytes:
    import xlsxwriter  # imported here: only exports need it

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    book.set_properties({"title": report.title, "subject": report.subtitle, "author": "Tessera"})
    sheet = book.add_worksheet(_sheet_name(report.title))
    formats: dict[tuple[str, str, int], Any] = {}

    def fmt(kind: str, style: str, indent: int = 0) -> Any:
        key = (kind, style, indent)
        if key not in formats:
            spec: dict[str, Any] = {"valign": "top"}
            if kind == "money":
                spec["num_format"] = "#,##0.00;-#,##0.00;-"
            elif kind == "percent":
                spec["num_format"] = '0.0"%"'
            elif kind == "date":
                spec["num_format"] = "yyyy-mm-dd"
            if style in ("heading", "section", "subtotal", "total", "header", "caption"):
                spec["bold"] = True
            if style in ("subtotal", "total"):
                spec["top"] = 1
            if style == "total":
                spec["bottom"] = 6  # double
            if style == "header":
                spec["bottom"] = 1
                spec["bg_color"] = "#F1F5F9"
                if kind in ("money", "percent"):
                    spec["align"] = "right"
            if indent:
                spec["indent"] = indent
            formats[key] = book.add_format(spec)
        return formats[key]

    sheet.write_string(0, 0, report.title, book.add_format({"bold": True, "font_size": 14}))
    sheet.write_string(1, 0, report.subtitle)
    widths: dict[int, int] = {}
    r = 3
    first_header = None
    for table in report.tables:
        if len(report.tables) > 1 and table.caption:
            sheet.write_string(r, 0, table.caption, fmt("text", "caption"))
            r += 1
        for col, column in enumerate(table.columns):
            sheet.write_string(r, col, column.header, fmt(column.kind, "header"))
            wide = 40 if column.kind == "text" and column.width >= 2 else 16
            widths[col] = max(widths.get(col, 0), wide)
        first_header = r if first_header is None else first_header
        r += 1
        for row in table.rows:
            for col, (value, column) in enumerate(zip(row.cells, table.columns, strict=True)):
                cell = fmt(column.kind, row.style, row.indent if col == _label_column(table) else 0)
                if value is None or value == "":
                    sheet.write_blank(r, col, None, cell)
                elif isinstance(value, Decimal):
                    sheet.write_number(r, col, float(value), cell)
                elif isinstance(value, date):
                    sheet.write_datetime(r, col, value, cell)
                else:
                    sheet.write_string(r, col, str(value), cell)
            r += 1
        r += 1
    for note in report.notes:
        sheet.write_string(r, 0, note)
        r += 1
    for col, width in widths.items():
        sheet.set_column(col, col, width)
    if len(report.tables) == 1 and first_header is not None:
        sheet.freeze_panes(first_header + 1, 0)
    book.close()
    return buf.getvalue()


def _label_column(table: Table) -> int:
    """The column whose text is indented for sub-rows: the first wide text column."""
    return next((i for i, c in enumerate(table.columns) if c.kind == "text" and c.width >= 2), 0)


# --- PDF ---------------------------------------------------------------------------------------


def _needs_cjk(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return True
    return False


def _runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into runs of Chinese (True) and of Latin text (False)."""
    out: list[tuple[str, bool]] = []
    for ch in text:
        wide = _needs_cjk(ch)
        if out and out[-1][1] == wide:
            out[-1] = (out[-1][0] + ch, wide)
        else:
            out.append((ch, wide))
    return out


def _markup(text: str) -> str:
    """Paragraph markup of ``text``: runs of Chinese in the CID font, the rest in the paragraph's
    Latin font (the CID font's Latin letters are wide, and it lacks some punctuation)."""
    return "".join(
        f'<font face="{CJK_FONT}">{escape(run)}</font>' if cjk else escape(run) for run, cjk in _runs(text)
    )


def _register_cjk() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def pdf_report(report: Report, *, compress: bool = True) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    _register_cjk()
    page = landscape(A4) if report.landscape else A4
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=page,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=report.title,
        subject=report.subtitle,
        author="Tessera",
        pageCompression=1 if compress else 0,
    )

    def para(
        text: str, size: float = 8.5, *, bold: bool = False, align: int = 0, indent: int = 0
    ) -> Paragraph:
        look = ParagraphStyle(
            "cell",
            fontName="Helvetica-Bold" if bold else "Helvetica",
            fontSize=size,
            leading=size * 1.3,
            alignment=align,
            leftIndent=indent * 9,
        )
        return Paragraph(_markup(text), look)

    bold_styles = ("heading", "section", "subtotal", "total")
    usable = page[0] - doc.leftMargin - doc.rightMargin
    story: list[Any] = [para(report.title, 15, bold=True), Spacer(1, 2 * mm), para(report.subtitle, 9.5)]
    for table in report.tables:
        story.append(Spacer(1, 5 * mm))
        if len(report.tables) > 1 and table.caption:
            story += [para(table.caption, 10.5, bold=True), Spacer(1, 2 * mm)]
        label = _label_column(table)
        data: list[list[Any]] = [
            [
                para(c.header, bold=True, align=2 if c.kind in ("money", "percent") else 0)
                for c in table.columns
            ]
        ]
        for row in table.rows:
            data.append(
                [
                    para(
                        _shown(value, column.kind),
                        bold=row.style in bold_styles,
                        align=2 if column.kind in ("money", "percent") else 0,
                        indent=row.indent if col == label else 0,
                    )
                    for col, (value, column) in enumerate(zip(row.cells, table.columns, strict=True))
                ]
            )
        weight = sum(c.width for c in table.columns)
        grid = PdfTable(data, colWidths=[usable * c.width / weight for c in table.columns], repeatRows=1)
        commands: list[tuple[Any, ...]] = [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#F1F5F9")),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#94A3B8")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ]
        for n, row in enumerate(table.rows, start=1):
            if row.style == "subtotal":
                commands.append(("LINEABOVE", (0, n), (-1, n), 0.5, colors.HexColor("#94A3B8")))
            elif row.style == "total":
                commands.append(("LINEABOVE", (0, n), (-1, n), 0.8, colors.black))
                commands.append(("LINEBELOW", (0, n), (-1, n), 0.8, colors.black))
            elif row.style == "heading":
                commands.append(("BACKGROUND", (0, n), (-1, n), colors.HexColor("#F8FAFC")))
            else:
                commands.append(("LINEBELOW", (0, n), (-1, n), 0.25, colors.HexColor("#E2E8F0")))
        grid.setStyle(TableStyle(commands))
        story.append(grid)
    for note in report.notes:
        story += [Spacer(1, 3 * mm), para(note, 8.5)]
    footer = i18n.gettext("Page {n}")

    def on_page(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        text = footer.format(n=document.page)
        canvas.setFillColor(colors.HexColor("#64748B"))
        canvas.setFont(CJK_FONT if _needs_cjk(text) else "Helvetica", 8)  # "第 1 页"
        canvas.drawRightString(page[0] - doc.rightMargin, 9 * mm, text)
        x = doc.leftMargin
        for run, cjk in _runs(report.title):
            font = CJK_FONT if cjk else "Helvetica"
            canvas.setFont(font, 8)
            canvas.drawString(x, 9 * mm, run)
            x += canvas.stringWidth(run, font, 8)
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


def download(report: Report, fmt: str) -> Response[bytes]:
    """The report as a file to save (``fmt``: csv, xlsx, pdf), never cached."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", report.filename).strip("-") or "report"
    if fmt == "csv":
        return csv_download(csv_report(report), f"{name}.csv")
    if fmt not in FORMATS:
        raise InvalidExportFormat(fmt)
    body = xlsx_report(report) if fmt == "xlsx" else pdf_report(report)
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
