"""Admin › Settings: name, default language, time zone, currency (the shared registry row) and the
logo (tenant schema), served at /branding/logo. Runs in ``initech``: these change the tenant."""

from __future__ import annotations

import struct
import zlib

from sqlalchemy import select

from app.kernel.db import get_database
from tenants.branding import Branding
from tenants.models import Tenant
from tests.admin.support import count, one
from tests.helpers import browser, signed_in


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (31, 79, 209)) -> bytes:
    """A real (tiny) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24


async def _registry(tenant) -> Tenant:
    async with get_database().shared_session() as s:
        return (await s.execute(select(Tenant).where(Tenant.id == tenant.id))).scalar_one()


async def _logo(tenant) -> Branding | None:
    return await one(tenant, select(Branding).order_by(Branding.id).limit(1))


async def test_save_name_language_time_zone_and_currency(app, initech):
    async with signed_in(app, initech, "ada") as b:
        page = await b.get("/admin/settings")
        assert '<option value="GBP" selected>GBP – British Pound</option>' in page.text
        assert '<option value="Europe/London" selected>Europe/London</option>' in page.text
        r = await b.post(
            "/admin/settings",
            {
                "name": "  Initech   株式会社 ",
                "locale": "zh_Hant",
                "timezone": "Asia/Taipei",
                "currency": "twd",
            },
        )
        assert r.status_code == 303
        after = await b.get("/admin/settings")
        t = await _registry(initech)
        assert (t.name, t.locale, t.timezone, t.currency) == (
            "Initech 株式会社",
            "zh_Hant",
            "Asia/Taipei",
            "TWD",
        )
        # the routing cache was dropped: the very next page already shows the new name
        assert "<span>Initech 株式会社<small>Tessera</small></span>" in after.text
        restore = await b.post(
            "/admin/settings",
            {"name": "Initech Ltd", "locale": "en", "timezone": "Europe/London", "currency": "GBP"},
        )
        assert restore.status_code == 303
    t = await _registry(initech)
    assert (t.name, t.locale, t.timezone, t.currency) == ("Initech Ltd", "en", "Europe/London", "GBP")


async def test_refused_settings_rerender_with_errors_and_change_nothing(app, initech):
    before = await _registry(initech)
    async with signed_in(app, initech, "ada") as b:
        r = await b.post(
            "/admin/settings", {"name": " ", "locale": "fr", "timezone": "Mars/Olympus", "currency": "DEM"}
        )
    assert r.status_code == 422
    assert "This field is required." in r.text
    assert "Choose one of the supported languages." in r.text
    assert "Choose a valid time zone." in r.text
    assert "Choose a currency from the list." in r.text
    after = await _registry(initech)
    assert (after.name, after.locale, after.timezone, after.currency, after.updated_at) == (
        before.name,
        before.locale,
        before.timezone,
        before.currency,
        before.updated_at,
    )


async def test_upload_serve_replace_and_remove_the_logo(app, initech):
    image = png()
    async with signed_in(app, initech, "ada") as b:
        r = await b.post("/admin/settings/logo", files={"logo": ("logo.png", image, "image/png")})
        assert r.status_code == 303
        page = await b.get("/admin/settings")
        assert "The new logo is saved." in page.text
        assert '<img src="/branding/logo" alt="">' in page.text  # the sidebar
        logo = await _logo(initech)
        assert (logo.logo, logo.content_type) == (image, "image/png")
        served = await b.client.get("/branding/logo")
        assert served.status_code == 200
        assert served.content == image
        assert served.headers["content-type"] == "image/png"
        assert served.headers["cache-control"] == "public, max-age=300, stale-while-revalidate=86400"
        assert served.headers["x-content-type-options"] == "nosniff"
        again = await b.client.get("/branding/logo", headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        r = await b.post(
            "/admin/settings/logo", files={"logo": ("whatever.bin", WEBP, "application/octet-stream")}
        )
        assert r.status_code == 303
        assert (await _logo(initech)).content_type == "image/webp"
        assert (
            await b.client.get("/branding/logo", headers={"If-None-Match": served.headers["etag"]})
        ).status_code == 200
        r = await b.post("/admin/settings/logo/delete")
        assert r.status_code == 303
        assert await _logo(initech) is None
        default = await b.client.get("/branding/logo")
    assert default.status_code == 302
    assert default.headers["location"] == "/static/img/logo.svg"


async def test_refused_logos_get_a_clear_error(app, initech):
    image = png(rgb=(200, 30, 40))
    async with signed_in(app, initech, "ada") as b:
        await b.post("/admin/settings/logo", files={"logo": ("logo.png", image, "image/png")})
        svg = await b.post("/admin/settings/logo", files={"logo": ("logo.png", SVG, "image/png")})
        big = await b.post(
            "/admin/settings/logo", files={"logo": ("big.png", image + b"\x00" * (512 * 1024), "image/png")}
        )
        empty = await b.post("/admin/settings/logo", data={})
        await b.post("/admin/settings/logo/delete")
    assert svg.status_code == 422
    assert "Upload a PNG, JPEG or WebP image." in svg.text
    assert big.status_code == 422
    assert "The logo may be at most 512 KB." in big.text
    assert empty.status_code == 422
    assert "Choose an image file to upload." in empty.text
    assert await count(initech, Branding) == 0  # removed at the end: the refusals added no row


async def test_refused_logo_does_not_replace_the_stored_one(app, initech):
    image = png(rgb=(1, 2, 3))
    async with signed_in(app, initech, "ada") as b:
        await b.post("/admin/settings/logo", files={"logo": ("logo.png", image, "image/png")})
        r = await b.post("/admin/settings/logo", files={"logo": ("logo.svg", SVG, "image/svg+xml")})
        assert r.status_code == 422
        kept = await _logo(initech)
        await b.post("/admin/settings/logo/delete")
    assert (kept.logo, kept.content_type) == (image, "image/png")


async def test_the_logo_is_public_on_the_tenant_host(app, initech):
    async with browser(app, initech) as b:
        r = await b.client.get("/branding/logo")
    assert r.status_code == 302
    assert r.headers["location"] == "/static/img/logo.svg"


async def test_people_without_the_permission_get_403(app, initech):
    before = await _registry(initech)
    async with signed_in(app, initech, "nora") as b:
        assert (await b.get("/admin/settings")).status_code == 403
        r = await b.post(
            "/admin/settings", {"name": "Nora Inc", "locale": "en", "timezone": "UTC", "currency": "USD"}
        )
        up = await b.post("/admin/settings/logo", files={"logo": ("logo.png", png(), "image/png")})
    assert r.status_code == 403
    assert up.status_code == 403
    assert (await _registry(initech)).name == before.name
    assert await _logo(initech) is None
