"""Language: the switch, the profile setting and the browser's Accept-Language (PLAT-5)."""

from __future__ import annotations

from app.kernel.i18n import negotiate, normalize_locale
from tests.helpers import browser, signed_in


def test_accept_language_maps_to_our_three_locales():
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans"
    assert negotiate("zh-TW,en;q=0.5") == "zh_Hant"
    assert negotiate("zh-HK") == "zh_Hant"
    assert negotiate("fr-FR,en;q=0.3") == "en"
    assert negotiate("en;q=0.2,zh-Hant;q=0.9") == "zh_Hant"
    assert negotiate("fr") is None
    assert normalize_locale("zh-Hans-CN") == "zh_Hans"


async def test_login_page_follows_the_browser_language(app, acme):
    async with browser(app, acme) as b:
        r = await b.get("/login", headers={"Accept-Language": "zh-TW"})
    assert '<html lang="zh-Hant">' in r.text


async def test_language_switch_is_remembered_in_the_profile(app, acme):
    async with signed_in(app, acme, "bob") as b:
        r = await b.post("/i18n/locale", {"locale": "zh_Hans", "next": "/profile"})
        assert r.status_code == 303
        assert r.headers["location"] == "/profile"
        page = await b.get("/profile")
        assert '<html lang="zh-Hans">' in page.text
    async with signed_in(app, acme, "bob") as b2:  # a new session: the profile's language applies
        assert '<html lang="zh-Hans">' in (await b2.get("/")).text
        await b2.post("/i18n/locale", {"locale": "en", "next": "/"})


async def test_unknown_locale_is_ignored(app, acme):
    async with signed_in(app, acme, "sam") as b:
        r = await b.post("/i18n/locale", {"locale": "xx_YY", "next": "/"})
        assert r.status_code == 303
        assert '<html lang="en">' in (await b.get("/")).text
