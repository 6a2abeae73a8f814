"""Reading CSV uploads (PLAT-13): the encodings Excel really writes — UTF-8, GB18030 (GBK) on a
Simplified Chinese Windows, Big5 (code page 950) on a Traditional Chinese Windows, as in Taiwan."""

from __future__ import annotations

import pytest

from app.kernel import i18n
from app.kernel.csvfile import BIG5, GB18030, plausibility, read_csv
from app.kernel.errors import ValidationFailed

# A contact list as a Taiwanese sales rep keeps it, and the same list from a mainland colleague.
TAIWAN = (
    "客戶名稱,聯絡人,職稱,電話,地址,備註\r\n"
    "台灣大哥大股份有限公司,林志明,業務經理,02-6606-6666,台北市信義區松仁路,「重要」客戶\r\n"
    "高雄港務有限公司,黃淑芬,採購專員,07-521-1234,高雄市前鎮區,請於週五前回覆。\r\n"
)
MAINLAND = (
    "客户名称,联系人,职务,电话,地址,备注\r\n"
    "上海张伟科技有限公司,张伟,销售经理,021-6000-1234,上海市浦东新区,“重要”客户\r\n"
    "广州贸易有限公司,陈静,采购专员,020-8000-5678,广州市天河区,请于周五前回复。\r\n"
)


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (TAIWAN, "big5", BIG5),  # Excel on a Traditional Chinese Windows
        (TAIWAN, "cp950", BIG5),
        (TAIWAN, "gb18030", GB18030),  # the same traditional text, typed on a Simplified Windows
        (MAINLAND, "gb18030", GB18030),  # Excel on a Simplified Chinese Windows
        (MAINLAND, "gbk", GB18030),
    ],
)
@pytest.mark.parametrize("locale", ["en", "zh_Hans", "zh_Hant"])
def test_legacy_chinese_encodings_are_told_apart_whoever_uploads(text, encoding, expected, locale):
    data = text.encode(encoding)
    with i18n.use_locale(locale):
        table = read_csv(data, max_rows=10)
    assert table.encoding == expected
    header, *lines = text.splitlines()
    assert table.header == header.split(",")
    assert [list(row.values()) for _line, row in table.rows] == [line.split(",") for line in lines]


def test_the_same_traditional_text_in_big5_and_gb18030_bytes_reads_the_same():
    big5, gb = TAIWAN.encode("big5"), TAIWAN.encode("gb18030")
    assert big5 != gb
    # Big5 bytes are valid GB18030 too, so decoding alone cannot decide; read as GB18030 they are
    # full of rare characters, kana and private-use code points.
    wrong = big5.decode("gb18030")
    assert (plausibility(wrong, GB18030) or 0) < 0.3 < 0.95 < (plausibility(TAIWAN, BIG5) or 0)
    assert read_csv(big5, max_rows=10).rows == read_csv(gb, max_rows=10).rows
    assert read_csv(big5, max_rows=10).rows == read_csv(TAIWAN.encode("utf-8"), max_rows=10).rows


def test_simplified_text_read_as_big5_is_implausible():
    assert plausibility(MAINLAND, GB18030) == 1.0
    with pytest.raises(UnicodeDecodeError):
        MAINLAND.encode("gb18030").decode(BIG5)  # often not even valid Big5 (人 is C8CB, 请 C7EB)
    # and where it is, it reads as rare traditional characters
    name = "上海张伟科技有限公司,张伟,销售经理,“重要”客户"
    assert (plausibility(name.encode("gb18030").decode(BIG5), BIG5) or 0) < 0.6


@pytest.mark.parametrize(
    ("locale", "encoding", "header", "name"),
    [("zh_Hant", BIG5, "靡", "諦誧"), ("zh_Hans", GB18030, "名", "客户"), ("en", GB18030, "名", "客户")],
)
def test_a_tie_goes_to_the_uploaders_script(locale, encoding, header, name):
    """A few characters may look right both ways: 名 and 客户 in GB18030 bytes are 靡 and 諦誧 in
    Big5, all frequent characters. Then the uploader's language decides."""
    data = "名,x\r\n客户,1\r\n".encode("gb18030")
    with i18n.use_locale(locale):
        table = read_csv(data, max_rows=10)
    assert table.encoding == encoding
    assert table.rows == [(2, {header: name, "x": "1"})]


def test_utf8_with_and_without_bom():
    assert read_csv(("\ufeff" + MAINLAND).encode("utf-8"), max_rows=10).encoding == "utf-8-sig"
    assert read_csv(TAIWAN.encode("utf-8"), max_rows=10).encoding == "utf-8"


def test_bytes_that_are_none_of_the_encodings_are_refused():
    with pytest.raises(ValidationFailed) as exc:
        read_csv(b"name,email\r\n\xff\xff\xff,x@y.example\r\n", max_rows=10)
    assert [e.message for e in exc.value.errors] == [
        "The file is not text in UTF-8, GB18030 (GBK) or Big5. Save it as CSV UTF-8."
    ]


@pytest.mark.parametrize(
    ("required", "english", "chinese"),
    [
        (("email",), "The header row lacks the column email.", "标题行缺少以下列：email。"),
        (
            ("email", "phone"),
            "The header row lacks the columns email, phone.",
            "标题行缺少以下列：email, phone。",
        ),
    ],
)
def test_a_missing_column_is_named_in_the_singular_or_the_plural(required, english, chinese):
    with pytest.raises(ValidationFailed) as exc:
        read_csv(b"name\r\nAda\r\n", max_rows=10, required=required)
    (error,) = exc.value.errors
    assert error.message.format(**error.params) == english  # the API and the logs
    with i18n.use_locale("zh_Hans"):
        assert i18n.gettext(error.message, **error.params) == chinese
