"""Reading CSV uploads (PLAT-13): the encodings people's spreadsheets really produce, and limits.

Excel saves "CSV" in the Windows code page of the machine: GBK (read as its superset GB18030) on
a Simplified Chinese Windows, Big5 (code page 950) on a Traditional Chinese one, as in Taiwan;
Excel's "CSV UTF-8" and most other tools write UTF-8, often with a byte-order mark. ``read_csv``
accepts the three, normalises the header names and refuses files that are not tabular text — as a
``ValidationFailed`` on the ``file`` field, so a portal form and the API report it the same way.

Which encoding: a BOM, else UTF-8 when the bytes are valid UTF-8 (legacy Chinese text practically
never is). GB18030 and Big5 both accept most byte strings of the other, so the choice between
them is by plausibility: the share of the decoded Chinese characters that are among the common
characters of that encoding's own script — GB2312 level 1 (the 3,755 most frequent simplified
characters) for GB18030, Big5 level 1 (the 5,401 frequent traditional ones) for Big5. Decoded
with the wrong one, Chinese text turns into rare characters, kana, Greek, bopomofo and private-use
code points, so the right one wins by far on any real file; only a file of one or two characters
can tie, and then the reader's language decides (繁體中文 → Big5, else GB18030).

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

from app.kernel import i18n
from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.i18n import lazy_n

BOM = "\ufeff"
MAX_CELL = 10_000


@dataclass(frozen=True)
class CsvTable:
    header: list[str]  # normalised: lower case, spaces and dashes as underscores
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, values by header)
    encoding: str


def normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


# The legacy Chinese encodings Excel writes, in the order that wins a tie: (codec, its "level 1"
# range of frequent characters, as (first, last) two-byte codes in the script's base charset).
GB18030 = "gb18030"
BIG5 = "cp950"  # Windows' Big5, as Excel on a Traditional Chinese Windows writes it
_COMMON = {GB18030: ("gb2312", 0xB0A1, 0xD7FE), BIG5: ("big5", 0xA440, 0xC67E)}
_SAMPLE = 20_000  # letters looked at: plenty to decide, and a large file costs no more


def _is_letter(c: str) -> bool:
    """A character that tells the encodings apart: not ASCII, Latin-1 or punctuation (full-width
    forms, CJK punctuation, general punctuation), which both encodings mostly share."""
    return not (
        c < "\u0100" or "\u2000" <= c <= "\u206f" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"
    )


def plausibility(text: str, codec: str) -> float | None:
    """The share of the first letters of ``text`` that are frequent Chinese characters of the
    script ``codec`` is for (None: no letters at all, nothing to judge by)."""
    base, first, last = _COMMON[codec]
    letters = common = 0
    seen: dict[str, bool] = {}
    for c in text:
        if not _is_letter(c):
            continue
        letters += 1
        if c not in seen:
            ok = "\u4e00" <= c <= "\u9fff"
            if ok:
                try:
                    code = int.from_bytes(c.encode(base), "big")
                except UnicodeEncodeError:
                    code = 0
                ok = first <= code <= last
            seen[c] = ok
        common += seen[c]
        if letters >= _SAMPLE:
            break
    return common / letters if letters else None


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded: dict[str, str] = {}
    for codec in _COMMON:
        try:
            decoded[codec] = data.decode(codec)
        except UnicodeDecodeError:
            continue
    if not decoded:
        raise ValidationFailed(
            [
                FieldError(
                    "file", "The file is not text in UTF-8, GB18030 (GBK) or Big5. Save it as CSV UTF-8."
                )
            ]
        )
    if len(decoded) == 1:
        codec, text = next(iter(decoded.items()))
        return text, codec
    scores = {codec: plausibility(text, codec) or 0.0 for codec, text in decoded.items()}
    best = max(scores.values())
    tied = [codec for codec, score in scores.items() if score == best]
    codec = tied[0] if len(tied) == 1 else (BIG5 if i18n.get_locale() == "zh_Hant" else GB18030)
    return decoded[codec], codec


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
                    "file",
                    lazy_n(
                        "The header row lacks the column {columns}.",
                        "The header row lacks the columns {columns}.",
                    ),
                    {"columns": ", ".join(missing), "n": len(missing)},
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
