"""The translation catalogues (PLAT-5): complete, consistent, compiled, and really shown.

The catalogue test runs the same extraction as ``python3 dev.py i18n`` (tools/i18n.py, Babel's
extractors in-process), so a new user-visible string without a translation fails here at once.
The page tests render real pages through the app in 简体中文 and 繁體中文 and look for exact
Chinese text and for English msgids that leaked through untranslated.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from babel.messages.catalog import Catalog

from app.kernel import i18n
from app.kernel.i18n import lazy_n, lazy_p
from app.kernel.templating import environment
from tests.admin.support import make_user
from tests.helpers import Browser, browser, login
from tools import i18n as catalogues

LOCALES = list(catalogues.CATALOGUES)
HOW_TO_FIX = "\n\nRun `python3 dev.py i18n`, translate the new entries and read docs/i18n.md."


@pytest.fixture(scope="module")
def template() -> Catalog:
    return catalogues.extract()


# --- the catalogues -----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_every_extracted_msgid_is_translated_with_the_same_placeholders(template, locale):
    problems = catalogues.problems(locale, template)
    assert not problems, "\n" + "\n".join(problems) + HOW_TO_FIX


def test_the_committed_template_matches_the_code(template):
    """app/locale/messages.pot is what translators work from: it must list today's msgids."""
    with catalogues.POT_FILE.open("rb") as fh:
        committed = {(m.context, m.id) for m in catalogues.read_po(fh) if m.id}
    extracted = {(m.context, m.id) for m in template if m.id}
    assert committed == extracted, (
        f"new: {sorted(map(str, extracted - committed))}; gone: {sorted(map(str, committed - extracted))}"
        + HOW_TO_FIX
    )


def test_extraction_sees_every_way_a_message_is_written(template):
    ids = {m.id for m in template if m.id}
    expected = {
        "Sign in",  # _() in a template
        "Join %(org)s",  # _() with keyword arguments
        ("%(num)d member", "%(num)d members"),  # ngettext() in a template
        "Hello %(name)s,",  # {% trans %} in a mail template
        ("The link works once, for the next hour.", "The link works once, for the next %(count)s hours."),
        "Your profile is saved.",  # i18n.gettext() in Python
        "Invite, edit and deactivate users",  # P(key, label): the permission catalogue
        "Warehouse clerk",  # BuiltinRole(key, name, description): both strings
        "Receives, issues, moves and ships stock.",
        "Sign-ins to your account",  # Kind(key, label)
        "Last sign-in",  # Column(key, label)
        "Record type",  # Filter(key, label, ...)
        "Choose a valid time zone.",  # FieldError(field, message)
        "The {what} was not found.",  # lazy() in an error class
        "user",  # lazy() noun handed to NotFound
        "Supply chain",  # lazy() nav section
        "Single sign-on is not enabled for {tenant}.",  # _refused(code, message)
        # lazy_n(singular, plural): an error message with a count
        ("Nothing was imported: {n} row has a problem.", "Nothing was imported: {n} rows have problems."),
    }
    assert expected <= ids, sorted(map(str, expected - ids))
    keys = {(m.context, m.id) for m in template if m.id}
    with_context = {
        ("invitation", "Pending"),  # lazy_p(context, message) in a status dict
        ("ticket", "Pending"),
        ("instalment", "Pending"),
        ("user account", "Account"),  # pgettext(context, message) in a template
        ("on/off setting", "Active"),
        (None, "Account"),  # the same word without a context is an entry of its own
    }
    assert with_context <= keys, sorted(map(str, with_context - keys))


def test_contexts_and_plurals_are_extracted_from_every_kind_of_call(tmp_path, monkeypatch):
    monkeypatch.setattr(catalogues, "ROOT", tmp_path)
    py = tmp_path / "labels.py"
    py.write_text(
        "LABELS = {'p': lazy_p('ticket', 'Pending'), 'a': lazy('Active')}\n"
        "COLUMNS = [Column('status', lazy_p('ticket', 'Status'), sort=1)]\n"
        "text = i18n.pgettext('invitation', 'Pending since {date}', date=d)\n"
        "rows = i18n.npgettext('import', '{n} row', '{n} rows', n)\n"
        "error = FieldError('file', lazy_n('{n} column', '{n} columns'), {'n': 2})\n",
        encoding="utf-8",
    )
    html = tmp_path / "page.html"
    html.write_text(
        '{{ pgettext("user account", "Account") }} {{ _("Account") }}\n'
        '{{ npgettext("deal", "%(num)d open", "%(num)d open", n) }}\n'
        '{% trans "greeting" %}Hello {{ name }}{% endtrans %}\n'
        '{{ pgettext(kind, "Skipped: the context is not a literal") }}\n',
        encoding="utf-8",
    )
    found = {(f.context, f.msgid) for f in [*catalogues._from_python(py), *catalogues._from_template(html)]}
    assert found == {
        ("ticket", "Pending"),
        (None, "Active"),
        ("ticket", "Status"),
        ("invitation", "Pending since {date}"),
        ("import", ("{n} row", "{n} rows")),
        (None, ("{n} column", "{n} columns")),
        ("user account", "Account"),
        (None, "Account"),
        ("deal", ("%(num)d open", "%(num)d open")),
        ("greeting", "Hello %(name)s"),
    }


def test_placeholders_are_read_in_both_styles():
    assert catalogues.placeholders("Hello {name}, {{literal}} %(org)s %(n)d 100%%") == {
        "{name}",
        "%(org)",
        "%(n)",
    }
    assert catalogues.placeholders("{count:,} of {total!s}") == {"{count}", "{total}"}


def test_the_check_reports_each_kind_of_problem():
    template = Catalog()
    for msgid in ("Missing", "Empty", "Fuzzy", "Hello {name}", "Join %(org)s", "Fine {n}"):
        template.add(msgid)
    template.add(("%(num)d item", "%(num)d items"))
    catalog = Catalog(locale="zh_Hans_CN")
    catalog.add("Empty", "")
    catalog.add("Fuzzy", "模糊", flags=["fuzzy"])
    catalog.add("Hello {name}", "你好，{nom}")
    catalog.add("Join %(org)s", "加入")
    catalog.add("Fine {n}", "好的 {n}")
    catalog.add(("%(num)d item", "%(num)d items"), ("%(num)d 项",))
    # Context entries are entries of their own: a translation of the bare msgid does not count.
    template.add("Pending", context="ticket")
    template.add("Pending since %(date)s", context="invitation")
    template.add("Pending", context="invitation")
    catalog.add("Pending", "待接受")
    catalog.add("Pending since %(date)s", "自 %(day)s 起待接受", context="invitation")
    catalog.add("Pending", "待接受", context="invitation")
    found = "\n".join(catalogues.catalogue_problems("zh_Hans", template, catalog))
    assert "missing: 'Missing'" in found
    assert "not translated: 'Empty'" in found
    assert "fuzzy: 'Fuzzy'" in found
    assert "placeholders differ in 'Hello {name}'" in found
    assert "placeholders differ in 'Join %(org)s'" in found
    assert "'Fine {n}'" not in found
    assert "item" not in found
    assert "missing: 'Pending' (context 'ticket')" in found
    assert "placeholders differ in 'Pending since %(date)s' (context 'invitation')" in found
    assert "'Pending' (context 'invitation')" not in found  # translated in its own context


@pytest.mark.parametrize(
    ("locale", "ticket", "invitation", "instalment", "user_account", "customer"),
    [
        ("zh_Hans", "待客户回复", "待接受", "待收款", "账号", "客户"),
        ("zh_Hant", "待客戶回覆", "待接受", "待付款", "帳號", "客戶"),
        ("en", "Pending", "Pending", "Pending", "Account", "Account"),
    ],
)
def test_one_word_is_translated_by_its_context_in_python_and_templates(
    locale, ticket, invitation, instalment, user_account, customer
):
    label = lazy_p("ticket", "Pending")
    assert label == "Pending"  # still the English text
    assert label.context == "ticket"
    page = environment().from_string(
        '{{ _(label) }}|{{ tr(label) }}|{{ pgettext("invitation", "Pending") }}|'
        '{{ pgettext("user account", "Account") }}|{{ _("Account") }}|{{ tr(other) }}'
    )
    with i18n.use_locale(locale):
        assert i18n.gettext(label) == ticket
        assert i18n.gettext(lazy_p("invitation", "Pending")) == invitation
        assert i18n.pgettext("instalment", "Pending") == instalment
        assert i18n.pgettext("user account", "Account") == user_account
        assert i18n.gettext("Account") == customer
        assert page.render(label=label, other=lazy_p("instalment", "Pending")) == "|".join(
            (ticket, ticket, invitation, user_account, customer, instalment)
        )


def test_a_plural_error_message_is_plural_in_english_and_translated():
    message = lazy_n(
        "Nothing was imported: {n} row has a problem.", "Nothing was imported: {n} rows have problems."
    )
    assert message.format(n=1) == "Nothing was imported: 1 row has a problem."
    assert message.format(n=3) == "Nothing was imported: 3 rows have problems."
    with i18n.use_locale("en"):
        assert i18n.gettext(message, n=3) == "Nothing was imported: 3 rows have problems."
    with i18n.use_locale("zh_Hant"):
        assert i18n.gettext(message, n=3) == "未匯入任何資料：有 3 列資料有問題。"


@pytest.mark.parametrize(
    ("locale", "sign_in", "sent", "members"),
    [
        ("zh_Hans", "登录", "已向 a@b.example 发送邀请。", "3 名成员"),
        ("zh_Hant", "登入", "已將邀請寄至 a@b.example。", "3 位成員"),
    ],
)
def test_the_app_compiles_and_uses_the_catalogues(locale, sign_in, sent, members):
    with i18n.use_locale(locale):
        assert i18n.gettext("Sign in") == sign_in
        assert i18n.gettext("Invitation sent to {email}.", email="a@b.example") == sent
        assert i18n.jinja_ngettext("%(num)d member", "%(num)d members", 3) % {"num": 3} == members
    with i18n.use_locale("en"):
        assert i18n.gettext("Sign in") == "Sign in"


def test_numbers_and_money_follow_the_locale():
    with i18n.use_locale("zh_Hans"):
        assert i18n.format_money(Decimal("1234.5"), "CNY") == "¥1,234.50"
        assert i18n.format_number(1234567) == "1,234,567"
    with i18n.use_locale("zh_Hant"):
        assert i18n.format_money(Decimal("1234.5"), "TWD") == "$1,234.50"
        assert i18n.format_money(Decimal("1234.5"), "CNY") == "CN¥1,234.50"
    with i18n.use_locale("en"):
        assert i18n.format_money(Decimal("1234.5"), "CNY") == "CN¥1,234.50"


# --- pages ------------------------------------------------------------------------------------------

_SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm", "data-error-text"}
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


class _Text(HTMLParser):
    """What a person sees or hears: text outside scripts and styles, and labelling attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.chunks += [v.strip() for k, v in attrs if k in _SHOWN_ATTRIBUTES and v and v.strip()]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.chunks.append(data.strip())


def english_leaks(html: str, template: Catalog) -> set[str]:
    """English msgids shown as they are: a text equal to a msgid, or the longest literal part
    (three words or more) of a msgid anywhere in the text."""
    parser = _Text()
    parser.feed(html)
    chunks = set(parser.chunks)
    text = "\n".join(parser.chunks)
    leaks = set()
    for m in template:
        if not m.id:
            continue
        msgid = m.id if isinstance(m.id, str) else m.id[0]
        if msgid in chunks:
            leaks.add(msgid)
        longest = max(_PLACEHOLDER.split(msgid), key=len).strip()
        if len(longest.split()) >= 3 and longest in text:
            leaks.add(msgid)
    return leaks


def shows(html: str, *texts: str) -> None:
    missing = [t for t in texts if t not in html]
    assert not missing, missing


# (locale, Accept-Language, short date-time as the users table shows it)
ZH = {
    "zh_Hans": ("zh-CN,zh;q=0.9", re.compile(r"\d{4}/\d{1,2}/\d{1,2}\s\d{2}:\d{2}")),
    "zh_Hant": (
        "zh-TW,zh;q=0.9",
        re.compile(r"\d{4}/\d{1,2}/\d{1,2}\s(凌晨|清晨|上午|中午|下午|晚上)\d{1,2}:\d{2}"),
    ),
}
EXPECTED = {
    "login": {
        "zh_Hans": [
            '<html lang="zh-Hans">',
            "<h1>登录</h1>",
            "邮箱",
            "密码",
            "忘记密码？",
            "登录 · Acme Ltd",
        ],
        "zh_Hant": [
            '<html lang="zh-Hant">',
            "<h1>登入</h1>",
            "電子郵件",
            "密碼",
            "忘記密碼？",
            "登入 · Acme Ltd",
        ],
    },
    "bad_password": {
        "zh_Hans": ["邮箱地址或密码不正确。"],
        "zh_Hant": ["電子郵件地址或密碼不正確。"],
    },
    "users": {
        "zh_Hans": [
            "<h1>用户</h1>",
            "可以登录 Acme Ltd 的所有人，包括员工和客户。",
            "邀请成员",
            "上次登录",
            "租户管理员",
            "销售代表",
            "系统管理",
            "审计日志",
            "退出登录",
        ],
        "zh_Hant": [
            "<h1>使用者</h1>",
            "可以登入 Acme Ltd 的所有人，包括員工與客戶。",
            "邀請成員",
            "上次登入",
            "租戶管理員",
            "業務代表",
            "系統管理",
            "稽核紀錄",
            "登出",
        ],
    },
    "not_found_user": {
        "zh_Hans": ["<h1>未找到</h1>", "未找到该用户。", "返回首页"],
        "zh_Hant": ["<h1>找不到</h1>", "找不到該使用者。", "回到首頁"],
    },
    "not_found_page": {
        "zh_Hans": ["未找到该页面或资源。"],
        "zh_Hant": ["找不到該頁面或資源。"],
    },
    "invalid_team": {
        "zh_Hans": ["请修改标出的字段。", "此项为必填项。", "新建团队"],
        "zh_Hant": ["請修正標示的欄位。", "此欄位為必填。", "新增團隊"],
    },
}


async def _switch(b: Browser, locale: str) -> None:
    r = await b.post("/i18n/locale", {"locale": locale, "next": "/"})
    assert r.status_code == 303


@pytest.mark.parametrize("locale", LOCALES)
async def test_sign_in_page_and_its_error_in_chinese(app, acme, template, locale):
    """zh_Hans through the language switch, zh_Hant through the browser's Accept-Language."""
    accept, _ = ZH[locale]
    headers = {"Accept-Language": accept} if locale == "zh_Hant" else {}
    async with browser(app, acme) as b:
        if locale == "zh_Hans":
            await b.get("/login")
            await _switch(b, locale)
        page = await b.get("/login", headers=headers)
        refused = await b.post("/login", {"email": acme.email("ada"), "password": "wrong"}, headers=headers)
    assert page.status_code == 200
    shows(page.text, *EXPECTED["login"][locale])
    assert refused.status_code == 401
    shows(refused.text, *EXPECTED["bad_password"][locale])
    assert english_leaks(page.text, template) == set()
    assert english_leaks(refused.text, template) == set()


@pytest.mark.parametrize("locale", LOCALES)
async def test_admin_pages_errors_and_form_errors_in_chinese(app, acme, template, locale):
    accept, short_datetime = ZH[locale]
    _id, email = await make_user(acme, name=f"Admin {locale}", roles=("tenant_admin",))
    async with browser(app, acme) as b:
        await login(b, email)
        headers = {"Accept-Language": accept} if locale == "zh_Hant" else {}
        if locale == "zh_Hans":
            await _switch(b, locale)
        users = await b.get("/admin/users", headers=headers)
        missing_user = await b.get("/admin/users/987654321", headers=headers)
        missing_page = await b.get("/no/such/page", headers=headers)
        invalid = await b.post("/admin/teams", {"name": "", "manager_id": ""}, headers=headers)
    assert users.status_code == 200
    shows(users.text, *EXPECTED["users"][locale])
    assert short_datetime.search(users.text), "dates in the users table are not in the locale's format"
    assert missing_user.status_code == 404
    shows(missing_user.text, *EXPECTED["not_found_user"][locale])
    assert missing_page.status_code == 404
    shows(missing_page.text, *EXPECTED["not_found_page"][locale])
    assert invalid.status_code == 422
    shows(invalid.text, *EXPECTED["invalid_team"][locale])
    for page in (users, missing_user, missing_page, invalid):
        assert english_leaks(page.text, template) == set(), page.url


async def test_the_leak_check_finds_english_on_an_english_page(app, acme, template):
    async with browser(app, acme) as b:
        page = await b.get("/login", headers={"Accept-Language": "en"})
    assert {"Sign in", "Forgot your password?", "Password"} <= english_leaks(page.text, template)


async def test_names_people_type_are_shown_as_typed_not_run_through_the_catalogue(app, acme):
    """A role called "Ops at 100%" is data, not a msgid: pages that list roles show it unchanged
    (through _() it would be read as a %-format string and break the page)."""
    name = "Ops at 100% (夜班)"
    _id, email = await make_user(acme, name="Admin percent", roles=("tenant_admin",))
    async with browser(app, acme) as b:
        await login(b, email)
        r = await b.post("/admin/roles", {"name": name, "description": "", "grant": "admin.audit.read"})
        assert r.status_code == 303, r.text[:300]
        for path in ("/admin/users", "/admin/invitations", "/admin/roles"):
            page = await b.get(path, headers={"Accept-Language": "zh-TW"})
            assert page.status_code == 200, path
            assert "Ops at 100% (夜班)" in page.text, path
