"""Admin › Single sign-on: the OIDC settings form; the client secret is write-only.

Runs in the ``initech`` tenant: enforcing SSO turns off password sign-in for its staff, so every
test leaves enforcement off again.
"""

from __future__ import annotations

from sqlalchemy import select

from app.kernel.crypto import decrypt
from app.security.models import SsoSettings
from tests.admin.support import count, one
from tests.helpers import signed_in

GOOD = {
    "enabled": "1",
    "issuer": "https://login.initech.example/realms/staff/",
    "client_id": "tessera-portal",
    "client_secret": "s3cret-from-the-idp",
    "button_label": "Sign in with Initech",
    "allowed_domains": "Initech.example, @initech.cn  initech.example",
    "auto_provision": "1",
    "default_role_key": "employee",
}


async def _row(tenant) -> SsoSettings | None:
    return await one(tenant, select(SsoSettings).order_by(SsoSettings.id).limit(1))


async def test_page_shows_the_callback_url_to_register(app, initech):
    async with signed_in(app, initech, "ada") as b:
        r = await b.get("/admin/sso")
    assert r.status_code == 200
    assert (
        '<div class="secret-box mono" id="sso-callback">http://initech.tessera.test/sso/callback</div>'
        in r.text
    )
    assert '<option value="customer"' not in r.text  # SSO is for staff
    assert '<option value="employee"' in r.text


async def test_save_settings_then_keep_the_secret_when_left_blank(app, initech):
    async with signed_in(app, initech, "ada") as b:
        r = await b.post("/admin/sso", {**GOOD, "enforce": "1"})
        assert r.status_code == 303
        page = await b.get("/admin/sso")
        assert "The single sign-on settings are saved." in page.text
        assert "s3cret-from-the-idp" not in page.text  # never shown back
        assert "Leave blank to keep the current secret." in page.text
        row = await _row(initech)
        assert (row.enabled, row.issuer, row.client_id, row.button_label) == (
            True,
            "https://login.initech.example/realms/staff",
            "tessera-portal",
            "Sign in with Initech",
        )
        assert row.allowed_domains == ["initech.cn", "initech.example"]
        assert (row.auto_provision, row.default_role_key, row.enforce) == (True, "employee", True)
        assert decrypt(row.client_secret_encrypted) == "s3cret-from-the-idp"
        # a second save without a secret and with enforcement unticked
        r = await b.post("/admin/sso", {**GOOD, "client_secret": "", "button_label": "Initech SSO"})
        assert r.status_code == 303
    row = await _row(initech)
    assert (row.button_label, row.enforce) == ("Initech SSO", False)
    assert decrypt(row.client_secret_encrypted) == "s3cret-from-the-idp"


async def test_refused_settings_rerender_with_errors_and_change_nothing(app, initech):
    async with signed_in(app, initech, "ada") as b:
        await b.post("/admin/sso", GOOD)
        before = await _row(initech)
        r = await b.post(
            "/admin/sso",
            {
                **GOOD,
                "issuer": "login.initech.example",
                "client_id": "",
                "client_secret": "new-secret-typed",
                "allowed_domains": "initech, https://x.example/a",
                "default_role_key": "",
                "enforce": "1",
            },
        )
        customer = await b.post("/admin/sso", {**GOOD, "default_role_key": "customer"})
    assert r.status_code == 422
    assert "Enter the provider&#39;s issuer URL, e.g. https://login.example.com." in r.text
    assert "Enter the client ID from your identity provider." in r.text
    assert "List e-mail domains such as example.com." in r.text
    assert "Choose the role new users get." in r.text
    assert "new-secret-typed" not in r.text
    assert 'value="login.initech.example"' in r.text  # the rest of what they typed stays
    assert customer.status_code == 422
    assert "Single sign-on is for staff; choose a staff role." in customer.text
    after = await _row(initech)
    assert (after.issuer, after.client_id, after.enforce, after.allowed_domains) == (
        before.issuer,
        before.client_id,
        False,
        before.allowed_domains,
    )
    assert decrypt(after.client_secret_encrypted) == "s3cret-from-the-idp"
    assert await count(initech, SsoSettings) == 1


async def test_people_without_the_permission_get_403(app, initech):
    before = await _row(initech)
    async with signed_in(app, initech, "bob") as b:
        assert (await b.get("/admin/sso")).status_code == 403
        r = await b.post("/admin/sso", {**GOOD, "client_id": "evil", "enforce": "1"})
    assert r.status_code == 403
    after = await _row(initech)
    assert (after.client_id if after else None) == (before.client_id if before else None)
