"""Reading CSV uploads (PLAT-13): the encodings people's spreadsheets really produce, and limits.

Excel on a Chinese Windows saves "CSV" as GB18030 (GBK); Excel elsewhere and most tools write
UTF-8, often with a byte-order mark. ``read_csv`` accepts both, normalises the header names and
refuses files that are not tabular text — as a ``ValidationFailed`` on the ``file`` field, so a
portal form and the API report it the same way.

    table = read_csv(upload_bytes, max_rows=50_000)
    for line_no, row in table.rows:        # line_no is the line people see in their editor
        row["email"]

Writing: ``csv_bytes(header, rows)`` produces UTF-8 with a BOM, which Excel opens correctly in
every locale (without it, Chinese text turns to mojibake on a Chinese Windows).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.kernel.errors import FieldError, ValidationFailed

BOM = "\ufeff"
MAX_CELL = 10_000


@dataclass(frozen=True)
class CsvTable:
    header: list[str]  # normalised: lower case, spaces and dashes as underscores
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, values by header)
    encoding: str


def normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            [FieldError("file", "The file is not text in UTF-8 or GB18030 (GBK). Save it as CSV UTF-8.")]
        ) from exc


def read_csv(data: bytes, *, max_rows: int, required: Sequence[str] = ()) -> CsvTable:
    """Parse an uploaded CSV file; ``required`` names columns that must be in the header."""
    if not data.strip():
        raise ValidationFailed([FieldError("file", "The file is empty.")])
    text, encoding = _decode(data)
    if "\x00" in text:
        raise ValidationFailed([FieldError("file", "This is not a CSV file (it contains binary data).")])
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        raw_header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ValidationFailed([FieldError("file", "The file has no header row.")]) from exc
    header = [normalise_header(h) for h in raw_header]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationFailed(
            [
                FieldError(
                    "file", "The header row lacks the column(s): {columns}.", {"columns": ", ".join(missing)}
                )
            ]
        )
    if len(set(header)) != len(header):
        raise ValidationFailed([FieldError("file", "Two columns have the same name in the header row.")])
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank lines are not rows
            if len(rows) >= max_rows:
                raise ValidationFailed(
                    [FieldError("file", "The file has more than {n} rows; split it.", {"n": max_rows})]
                )
            if any(len(v) > MAX_CELL for v in values):
                raise ValidationFailed(
                    [
                        FieldError(
                            "file",
                            "Line {line} has a cell longer than {n} characters.",
                            {"line": reader.line_num, "n": MAX_CELL},
                        )
                    ]
                )
            row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header) if h}
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise ValidationFailed(
            [
                FieldError(
                    "file",
                    "Line {line} cannot be read as CSV: {error}.",
                    {"line": reader.line_num, "error": str(exc)},
                )
            ]
        ) from exc
    return CsvTable(header=header, rows=rows, encoding=encoding)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV document (UTF-8 with BOM, CRLF line ends as RFC 4180 says)."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _safe_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _safe_cell(value: Any) -> str:
    """Text that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with a quote
    (CSV injection, OWASP): an exported lead named '=HYPERLINK(...)' stays text."""
    text = str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
