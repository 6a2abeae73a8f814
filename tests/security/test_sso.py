"""Per-tenant OpenID Connect single sign-on (PLAT-3), against a real provider process.

The provider is ``oidc-provider-mock`` run as its own process on a free port, with client
registration and nonces required. A test chooses who signs in by storing that person's claims at
the provider (``PUT /users/<sub>``) and submitting the provider's authorization form with that
``sub``, as a person at the browser would. Everything between Tessera and the provider is real HTTP.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import delete, select

from app.kernel.audit import AuditEntry
from app.security import oidc
from app.security.models import SsoSettings, User
from app.security.services.sso import save_settings
from app.security.services.users import create_user, role_keys_of
from app.settings import get_settings
from tenants.service import in_tenant
from tests.helpers import Browser, browser, http
from tests.world import PASSWORD, TenantWorld


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Provider:
    """The running provider, driven over HTTP the way its documentation describes."""

    url: str

    async def register(self, redirect_uri: str) -> Registration:
        async with httpx.AsyncClient() as c:
            r = await c.post(f"{self.url}/oauth2/clients", json={"redirect_uris": [redirect_uri]})
        assert r.status_code == 201, r.text
        return Registration(r.json()["client_id"], r.json()["client_secret"])

    async def set_user(self, sub: str, **claims: Any) -> None:
        async with httpx.AsyncClient() as c:
            r = await c.put(f"{self.url}/users/{sub}", json=claims)
        assert r.status_code == 204, r.text

    async def authorize(self, authorize_url: str, form: dict[str, str]) -> str:
        """Open the provider's authorization page and submit it; where it sends the browser back."""
        assert authorize_url.startswith(f"{self.url}/oauth2/authorize?")
        async with httpx.AsyncClient() as c:
            page = await c.get(authorize_url)
            assert page.status_code == 200, page.text
            r = await c.post(authorize_url, data=form)
        assert r.status_code == 302, r.text
        return r.headers["location"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"OIDC provider exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/.well-known/openid-configuration", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"OIDC provider did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    port = _free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    argv = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--require-registration", "true", "--require-nonce", "true"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log)
        yield Provider(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        oidc.clear_caches()


def callback_uri(tenant: TenantWorld) -> str:
    return get_settings().tenant_origin(tenant.slug) + "/sso/callback"


@pytest.fixture(scope="module")
async def acme_client(provider: Provider, acme: TenantWorld) -> Registration:
    return await provider.register(callback_uri(acme))


@pytest.fixture(autouse=True)
async def _sso_switched_off_after_each_test(world: dict[str, TenantWorld]) -> AsyncIterator[None]:
    """The tenants are shared with other test modules: none of them may inherit SSO settings."""
    yield
    for tenant in world.values():
        async with in_tenant(tenant.slug) as (session, _ref):
            await session.execute(delete(SsoSettings))


async def configure(provider: Provider, tenant: TenantWorld, client: Registration, **changes: Any) -> None:
    settings: dict[str, Any] = {
        "enabled": True,
        "issuer": provider.url,
        "client_id": client.client_id,
        "client_secret_value": client.client_secret,
        "button_label": "Sign in with Mock ID",
        "allowed_domains": "",
        "auto_provision": False,
        "default_role_key": None,
        "enforce": False,
        **changes,
    }
    async with in_tenant(tenant.slug) as (session, _ref):
        await save_settings(session, **settings)


async def new_user(
    tenant: TenantWorld, name: str, roles: tuple[str, ...] = ("sales_rep",)
) -> tuple[int, str]:
    email = f"{name}.{uuid.uuid4().hex[:8]}@{tenant.slug}.example"
    async with in_tenant(tenant.slug) as (session, _ref):
        user = await create_user(
            session, email=email, full_name=name.title(), password=PASSWORD, role_keys=list(roles)
        )
        return user.id, email


async def load_user(
    tenant: TenantWorld, *, user_id: int | None = None, email: str | None = None
) -> User | None:
    async with in_tenant(tenant.slug) as (session, _ref):
        stmt = select(User).where(User.id == user_id) if user_id else select(User).where(User.email == email)
        return (await session.execute(stmt)).scalar_one_or_none()


async def audit_events(tenant: TenantWorld, user_id: int) -> list[str]:
    async with in_tenant(tenant.slug) as (session, _ref):
        rows = await session.execute(
            select(AuditEntry.event)
            .where(AuditEntry.entity_type == "users", AuditEntry.entity_id == str(user_id))
            .order_by(AuditEntry.id)
        )
        return [e for e in rows.scalars() if e]


def new_sub() -> str:
    return f"sub-{uuid.uuid4().hex[:12]}"


def local_path(location: str, tenant: TenantWorld) -> str:
    """The provider's redirect back, as a path on the tenant's host (the test client's base URL)."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == get_settings().tenant_origin(tenant.slug)
    return f"{parts.path}?{parts.query}"


async def start(b: Browser, next_: str | None = None) -> str:
    r = await b.get("/sso/login" + (f"?{urlencode({'next': next_})}" if next_ else ""))
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"]


async def sso_sign_in(
    b: Browser, provider: Provider, tenant: TenantWorld, sub: str, next_: str | None = None
) -> httpx.Response:
    back = await provider.authorize(await start(b, next_), {"sub": sub})
    return await b.get(local_path(back, tenant))


async def assert_signed_out(b: Browser) -> None:
    r = await b.get("/")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


# --- the flow -----------------------------------------------------------------------------------


async def test_sign_in_starts_at_the_provider_with_pkce_state_and_nonce(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    async with browser(app, acme) as b:
        login = await b.get("/login")
        assert 'href="/sso/login"' in login.text
        assert "Sign in with Mock ID" in login.text
        location = await start(b)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{provider.url}/oauth2/authorize"
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q["response_type"] == "code"
    assert q["client_id"] == acme_client.client_id
    assert q["redirect_uri"] == "http://acme.tessera.test/sso/callback"
    assert q["scope"].split() == ["openid", "email", "profile"]
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43  # base64url of a SHA-256 digest
    assert len(q["state"]) >= 32
    assert len(q["nonce"]) >= 32
    assert q["state"] != q["nonce"]


async def test_existing_user_is_matched_by_verified_email_then_by_subject(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    user_id, email = await new_user(acme, "una")
    sub = new_sub()
    await provider.set_user(sub, email=email.upper(), email_verified=True, name="Una Provider")

    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub, next_="/profile")
        assert r.status_code == 303
        assert r.headers["location"] == "/profile"
        home = await b.get("/")
        assert home.status_code == 200
        assert email in home.text

    user = await load_user(acme, user_id=user_id)
    assert user is not None
    assert user.sso_subject == sub
    assert user.email == email  # Tessera's address is not overwritten by the provider's
    assert user.last_login_at is not None
    assert await audit_events(acme, user_id) == ["user.created", "user.sso_linked", "user.signed_in_sso"]

    # The address changes at the provider: the subject still names the same person.
    await provider.set_user(sub, email="una.renamed@elsewhere.example", email_verified=True)
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub)
        assert r.status_code == 303
        assert r.headers["location"] == "/"
        assert email in (await b.get("/")).text


async def test_unsafe_next_is_replaced_by_the_start_page(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    _user_id, email = await new_user(acme, "vic")
    sub = new_sub()
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub, next_="//evil.example/steal")
    assert r.status_code == 303
    assert r.headers["location"] == "/"


async def test_auto_provision_creates_an_active_staff_user_with_the_default_role(
    app, acme, provider, acme_client
):
    await configure(provider, acme, acme_client, auto_provision=True, default_role_key="employee")
    sub, email = new_sub(), f"pat.{uuid.uuid4().hex[:8]}@acme.example"
    await provider.set_user(sub, email=email, email_verified=True, name="Pat  Provisioned")
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub)
        assert r.status_code == 303
        assert email in (await b.get("/")).text

    user = await load_user(acme, email=email)
    assert user is not None
    assert (user.full_name, user.is_active, user.is_external, user.sso_subject) == (
        "Pat Provisioned",
        True,
        False,
        sub,
    )
    assert user.password_hash is None
    async with in_tenant(acme.slug) as (session, _ref):
        assert await role_keys_of(session, [user.id]) == {user.id: ["employee"]}
    assert await audit_events(acme, user.id) == ["user.provisioned_sso", "user.signed_in_sso"]


async def test_without_auto_provision_an_unknown_person_is_told_to_ask_for_an_invitation(
    app, acme, provider, acme_client
):
    await configure(provider, acme, acme_client)
    sub, email = new_sub(), f"quinn.{uuid.uuid4().hex[:8]}@acme.example"
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub)
        assert r.status_code == 403
        assert (
            f"There is no account for {email} in Acme Ltd. Ask your administrator for an invitation."
            in r.text
        )
        assert 'href="/login"' in r.text
        await assert_signed_out(b)
    assert await load_user(acme, email=email) is None


async def test_an_address_outside_the_allowed_domains_is_refused(app, acme, provider, acme_client):
    await configure(
        provider,
        acme,
        acme_client,
        allowed_domains="acme.example",
        auto_provision=True,
        default_role_key="employee",
    )
    sub, email = new_sub(), f"mallory.{uuid.uuid4().hex[:8]}@evil.example"
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub)
        assert r.status_code == 403
        assert "Addresses at evil.example may not sign in to Acme Ltd with single sign-on." in r.text
        await assert_signed_out(b)
    assert await load_user(acme, email=email) is None


async def test_an_unverified_address_is_not_matched_to_an_account(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    user_id, email = await new_user(acme, "wes")
    sub = new_sub()
    await provider.set_user(sub, email=email)  # no email_verified claim at all
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub)
        assert r.status_code == 403
        assert f"Your identity provider has not confirmed that {email} is your address" in r.text
        await assert_signed_out(b)
    user = await load_user(acme, user_id=user_id)
    assert user is not None
    assert user.sso_subject is None


async def test_a_deactivated_user_is_refused_and_not_linked(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    user_id, email = await new_user(acme, "xena")
    async with in_tenant(acme.slug) as (session, _ref):
        (await session.get(User, user_id)).is_active = False  # type: ignore[union-attr]
    sub = new_sub()
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub)
        assert r.status_code == 403
        assert "Your account in Acme Ltd is deactivated." in r.text
        await assert_signed_out(b)
    user = await load_user(acme, user_id=user_id)
    assert user is not None
    assert user.sso_subject is None
    assert user.last_login_at is None


async def test_a_customer_is_refused(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    sub = new_sub()
    await provider.set_user(sub, email=acme.email("carol"), email_verified=True)
    async with browser(app, acme) as b:
        r = await sso_sign_in(b, provider, acme, sub)
        assert r.status_code == 403
        assert "Single sign-on is for the staff of Acme Ltd." in r.text
        await assert_signed_out(b)
    carol = await load_user(acme, user_id=acme.users["carol"])
    assert carol is not None
    assert carol.sso_subject is None


# --- answers that must not sign anyone in -------------------------------------------------------


async def test_a_tampered_missing_or_reused_state_is_refused(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    _user_id, email = await new_user(acme, "yuri")
    sub = new_sub()
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        back = urlsplit(await provider.authorize(await start(b), {"sub": sub}))
        q = {k: v[0] for k, v in parse_qs(back.query).items()}
        tampered = await b.get("/sso/callback?" + urlencode({**q, "state": q["state"][:-2] + "xx"}))
        assert tampered.status_code == 400
        assert "This sign-in attempt is not valid any more" in tampered.text
        missing = await b.get("/sso/callback?" + urlencode({"code": q["code"]}))
        assert missing.status_code == 400
        await assert_signed_out(b)

        ok = await b.get("/sso/callback?" + back.query)
        assert ok.status_code == 303
        replay = await b.get("/sso/callback?" + back.query)
        assert replay.status_code == 400
        assert "This sign-in attempt is not valid any more" in replay.text


async def test_a_nonce_changed_on_the_way_to_the_provider_is_refused(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    _user_id, email = await new_user(acme, "zoe")
    sub = new_sub()
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        parts = urlsplit(await start(b))
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        forged = urlunsplit(parts._replace(query=urlencode({**q, "nonce": "attacker-chosen-nonce"})))
        back = await provider.authorize(forged, {"sub": sub})
        r = await b.get(local_path(back, acme))
        assert r.status_code == 400
        assert "The answer from your identity provider could not be verified" in r.text
        await assert_signed_out(b)


async def test_the_provider_refusing_shows_its_error(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client)
    async with browser(app, acme) as b:
        back = await provider.authorize(await start(b), {"action": "deny"})
        r = await b.get(local_path(back, acme))
        assert r.status_code == 400
        assert "Your identity provider did not sign you in (access_denied)." in r.text
        assert 'href="/login"' in r.text
        await assert_signed_out(b)


async def test_disabled_or_missing_settings_refuse_both_routes(app, acme, provider, acme_client):
    async with browser(app, acme) as b:
        r = await b.get("/sso/login")
        assert r.status_code == 403
        assert "Single sign-on is not enabled for Acme Ltd." in r.text
    await configure(provider, acme, acme_client, enabled=False)
    async with browser(app, acme) as b:
        assert "/sso/login" not in (await b.get("/login")).text
        assert (await b.get("/sso/login")).status_code == 403
        assert (await b.get("/sso/callback?code=x&state=y")).status_code == 403


async def test_an_unreachable_provider_gives_a_clear_page(app, acme, acme_client):
    await configure(Provider(f"http://127.0.0.1:{_free_port()}"), acme, acme_client)
    async with browser(app, acme) as b:
        r = await b.get("/sso/login")
    assert r.status_code == 502
    assert "Your identity provider could not be reached" in r.text


# --- enforcement and tenant isolation -----------------------------------------------------------


async def test_enforced_sso_blocks_staff_passwords_but_not_sso_or_customers(app, acme, provider, acme_client):
    await configure(provider, acme, acme_client, enforce=True)
    async with browser(app, acme) as b:
        page = await b.get("/login")
        assert 'name="password"' not in page.text
        assert "Sign in with Mock ID" in page.text
        r = await b.post("/login", {"email": acme.email("ada"), "password": PASSWORD})
        assert r.status_code == 403
        assert "Your organisation signs in with single sign-on only." in r.text
        await assert_signed_out(b)
    async with browser(app, acme) as b:
        await b.get("/login")
        r = await b.post("/login", {"email": acme.email("carol"), "password": PASSWORD})
        assert r.status_code == 303

    _user_id, email = await new_user(acme, "ida")
    sub = new_sub()
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        assert (await sso_sign_in(b, provider, acme, sub)).status_code == 303
        assert email in (await b.get("/")).text


async def test_an_acme_session_or_sign_in_is_worthless_on_globex(app, acme, globex, provider, acme_client):
    await configure(provider, acme, acme_client)
    await configure(provider, globex, await provider.register(callback_uri(globex)))
    _user_id, email = await new_user(acme, "jo")
    sub = new_sub()
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        assert (await sso_sign_in(b, provider, acme, sub)).status_code == 303
        cookie = f"tessera_sid={b.client.cookies['tessera_sid']}"
        async with http(app, globex.host) as g:
            r = await g.get("/", headers={"cookie": cookie})
            assert r.status_code == 303
            assert r.headers["location"].startswith("/login")

    # An attempt started on acme cannot be completed on globex's host, even with acme's cookie.
    async with browser(app, acme) as b:
        back = urlsplit(await provider.authorize(await start(b), {"sub": sub}))
        cookie = f"tessera_sid={b.client.cookies['tessera_sid']}"
        async with http(app, globex.host) as g:
            r = await g.get(f"/sso/callback?{back.query}", headers={"cookie": cookie})
            assert r.status_code == 400
            assert "This sign-in attempt is not valid any more" in r.text
            assert (await g.get("/", headers={"cookie": cookie})).status_code == 303


# --- ID token verification with real tokens from the provider ----------------------------------


async def _id_token(provider: Provider, client: Registration, redirect_uri: str, sub: str, nonce: str) -> str:
    """A relying party's own code flow against the provider (no Tessera involved)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email",
            "state": "s",
            "nonce": nonce,
        }
    )
    back = await provider.authorize(f"{provider.url}/oauth2/authorize?{query}", {"sub": sub})
    code = parse_qs(urlsplit(back).query)["code"][0]
    async with httpx.AsyncClient() as c:
        r = await c.post(
            f"{provider.url}/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=(client.client_id, client.client_secret),
        )
    assert r.status_code == 200, r.text
    return str(r.json()["id_token"])


async def test_id_tokens_with_a_bad_signature_audience_nonce_or_algorithm_are_rejected(provider):
    redirect_uri = "http://rp.test/callback"
    client = await provider.register(redirect_uri)
    sub = new_sub()
    await provider.set_user(sub, email="rp@example.com", email_verified=True)
    meta = await oidc.provider_metadata(provider.url)
    assert meta is await oidc.provider_metadata(provider.url)  # cached per issuer
    rp = oidc.SsoClient(provider.url, client.client_id, client.client_secret, "openid", redirect_uri)

    token = await _id_token(provider, client, redirect_uri, sub, "n-1")
    claims = await oidc.verify_id_token(rp, meta, token, nonce="n-1")
    assert (claims["sub"], claims["iss"], claims["aud"]) == (sub, provider.url, [client.client_id])

    other = await _id_token(provider, client, redirect_uri, sub, "n-2")
    header, payload, _sig = token.split(".")
    spliced = f"{header}.{payload}.{other.split('.')[2]}"
    symmetric = jwt.encode(
        {"alg": "HS256"}, {**claims}, OctKey.import_key("a-shared-secret-long-enough-for-hs256-0123456789")
    )
    someone_else = oidc.SsoClient(provider.url, "someone-else", "x", "openid", redirect_uri)
    for bad_client, bad_token, nonce in [
        (rp, spliced, "n-1"),  # signature of another token
        (someone_else, token, "n-1"),  # issued to another client
        (rp, token, "n-2"),  # replayed into another sign-in attempt
        (rp, symmetric, "n-1"),  # HS256: not an algorithm the provider signs with
        (rp, "not.a.token", "n-1"),
    ]:
        with pytest.raises(oidc.SsoTokenInvalid):
            await oidc.verify_id_token(bad_client, meta, bad_token, nonce=nonce)


async def test_on_a_custom_domain_sign_in_moves_to_the_tenants_own_host(app, acme, provider, acme_client):
    """The provider only returns to the registered callback on acme's host, where the attempt must be."""
    from app.kernel.db import get_database, utcnow
    from tenants.models import TenantDomain
    from tenants.routing import directory

    await configure(provider, acme, acme_client)
    domain = f"crm-{uuid.uuid4().hex[:8]}.acme-corp.test"
    async with get_database().shared_session() as s, s.begin():
        s.add(TenantDomain(tenant_id=acme.id, domain=domain, verification_token="t", verified_at=utcnow()))
    directory.invalidate()
    try:
        async with browser(app, domain) as b:
            r = await b.get("/sso/login?next=/profile")
        assert r.status_code == 303
        assert r.headers["location"] == "http://acme.tessera.test/sso/login?next=/profile"
    finally:
        async with get_database().shared_session() as s, s.begin():
            await s.execute(delete(TenantDomain).where(TenantDomain.domain == domain))
        directory.invalidate()


async def test_changing_the_issuer_unlinks_every_user(app, acme, provider, acme_client):
    """A ``sub`` is unique per provider only: the next provider's subjects must not match old links."""
    await configure(provider, acme, acme_client)
    user_id, email = await new_user(acme, "kim")
    sub = new_sub()
    await provider.set_user(sub, email=email, email_verified=True)
    async with browser(app, acme) as b:
        assert (await sso_sign_in(b, provider, acme, sub)).status_code == 303
    await configure(provider, acme, acme_client, button_label="Renamed")  # same issuer: links stay
    assert (await load_user(acme, user_id=user_id)).sso_subject == sub  # type: ignore[union-attr]

    await configure(Provider("https://login.example.com"), acme, acme_client)
    assert (await load_user(acme, user_id=user_id)).sso_subject is None  # type: ignore[union-attr]
    assert "sso.subjects_unlinked" in await audit_events(acme, user_id)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest",
        "https://[::1]/",
        "https://192.168.0.10/",
    ],
)
async def test_production_refuses_provider_urls_on_internal_addresses(url, monkeypatch):
    from app.security.oidc import SsoProviderUnavailable, ensure_public_destination
    from app.settings import reset_settings

    monkeypatch.setenv("TESSERA_ENV", "production")
    reset_settings()
    try:
        with pytest.raises(SsoProviderUnavailable):
            await ensure_public_destination(url)
    finally:
        monkeypatch.setenv("TESSERA_ENV", "test")
        reset_settings()
