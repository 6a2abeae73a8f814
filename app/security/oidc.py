"""OpenID Connect relying party for per-tenant single sign-on (PLAT-3): the authorization-code flow
with PKCE, done with Authlib's httpx2 client and verified with joserfc.

    url, pending = await begin(client, next_path="/", tenant_id=tenant.id)   # GET /sso/login
    remember(session, pending)                                                # then redirect to url
    ...
    pending = take(session, state, tenant.id)                                 # GET /sso/callback
    identity = await finish(client, pending, code=code, iss=iss)

Why it is built this way:

* ``state``, ``nonce`` and the PKCE verifier stay on the server, in the tenant-bound session, keyed
  by ``state``: each is used once and expires after ``PENDING_TTL``. A callback therefore only
  completes the sign-in that this browser started, on this tenant's host (no login CSRF).
* Discovery must name the configured issuer (OIDC Discovery §4.3) and every endpoint must be
  HTTPS (plain HTTP only for loopback outside production, for local providers and tests): a tenant
  admin's typo must not send client secrets or codes over the network in clear.
* The ID token is verified with joserfc — Authlib 1.9 deprecates ``authlib.jose`` for it — against
  the provider's JWKS, asymmetric algorithms only (an ``HS256`` token would be checked with the
  client secret, which the tenant admin also knows), then ``iss``, ``aud`` = client id (``azp``
  when there are several audiences), ``exp``/``iat`` with ``LEEWAY`` and ``nonce`` via Authlib's
  ``CodeIDToken``.
* Discovery documents and key sets are cached per issuer for ``CACHE_TTL``; a token signed with an
  unknown ``kid`` refetches the key set once (the provider rotated its keys).
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client  # Authlib drives httpx2 when installed
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.kernel.errors import DomainError
from app.kernel.logging import get_logger
from app.security.sessions import SessionData
from app.settings import get_settings

log = get_logger("tessera.sso")

CACHE_TTL = 300.0  # seconds a discovery document / key set is trusted before refetching
PENDING_TTL = 600.0  # seconds a user may spend at the provider before the attempt expires
LEEWAY = 60  # seconds of clock skew tolerated on exp/iat
HTTP_TIMEOUT = 10.0
MAX_PENDING = 3  # sign-ins started in parallel tabs of one browser
SESSION_KEY = "sso_pending"
# Asymmetric only: see the module docstring.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class SsoError(DomainError):
    status = 400
    title = "Single sign-on failed"


class SsoStateInvalid(SsoError):
    def __init__(self) -> None:
        super().__init__(
            "sso_state_invalid",
            "This sign-in attempt is not valid any more: it expired, was already used or was started "
            "in another browser. Please start again.",
        )


class SsoProviderRefused(SsoError):
    def __init__(self, error: str) -> None:
        # Only the OAuth error code is shown (RFC 6749 §4.1.2.1 limits it to a safe character set);
        # the provider's free-text description goes to the log.
        code = "".join(c for c in error if c.isalnum() or c in "_-.")[:60] or "error"
        super().__init__(
            "sso_provider_error",
            "Your identity provider did not sign you in ({error}).",
            params={"error": code},
        )


class SsoTokenInvalid(SsoError):
    def __init__(self) -> None:
        super().__init__(
            "sso_token_invalid",
            "The answer from your identity provider could not be verified, so you were not signed in. "
            "Please try again or ask your administrator.",
        )


class SsoProviderUnavailable(SsoError):
    status = 502

    def __init__(self) -> None:
        super().__init__(
            "sso_provider_unavailable",
            "Your identity provider could not be reached or answered unexpectedly. "
            "Please try again in a few minutes or ask your administrator.",
        )


@dataclass(frozen=True)
class SsoClient:
    """The tenant's registration at its provider, with the secret decrypted (never stored or logged)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    redirect_uri: str


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document this flow uses, already checked."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    signing_algs: tuple[str, ...]
    token_auth_method: str


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in started in this session and not yet completed (kept server-side only)."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str
    tenant_id: int
    started_at: float


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in. ``email_verified`` is true only when the provider says so."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


# --- transport and caches -------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _require_secure(url: object) -> str:
    if not isinstance(url, str):
        raise SsoProviderUnavailable()
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and _is_loopback(parts.hostname) and get_settings().environment != "production":
        return url
    log.warning("sso.insecure_endpoint", url=url)
    raise SsoProviderUnavailable()


async def ensure_public_destination(url: str) -> None:
    """In production, refuse provider URLs that resolve to internal addresses: the issuer is typed
    in by a tenant admin, and must not turn our servers into a probe of our own network (SSRF).
    (A DNS answer could still change between this check and the request; the egress firewall is
    the second line — docs/operations.md.)"""
    if get_settings().environment != "production":
        return
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SsoProviderUnavailable() from exc
    for *_ignored, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if not address.is_global:
            log.warning("sso.internal_destination_refused", url=url, address=str(address))
            raise SsoProviderUnavailable()


async def _get_json(url: str) -> dict[str, Any]:
    _require_secure(url)
    await ensure_public_destination(url)
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        log.warning("sso.fetch_failed", url=url, error=repr(exc))
        raise SsoProviderUnavailable() from exc
    if not isinstance(data, dict):
        log.warning("sso.fetch_failed", url=url, error="not a JSON object")
        raise SsoProviderUnavailable()
    return data


_metadata_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_jwks_cache: dict[str, tuple[float, KeySet]] = {}


def clear_caches() -> None:
    _metadata_cache.clear()
    _jwks_cache.clear()


def _parse_metadata(issuer: str, doc: dict[str, Any]) -> ProviderMetadata:
    named = doc.get("issuer")
    # Settings store the issuer without a trailing slash; some providers publish it with one.
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        log.warning("sso.issuer_mismatch", configured=issuer, discovered=named)
        raise SsoProviderUnavailable()
    algs = tuple(
        a for a in doc.get("id_token_signing_alg_values_supported") or ["RS256"] if a in SIGNING_ALGS
    )
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = next((m for m in ("client_secret_basic", "client_secret_post") if m in methods), None)
    if not algs or method is None:
        log.warning("sso.unsupported_provider", issuer=issuer, algs=algs, auth_methods=methods)
        raise SsoProviderUnavailable()
    userinfo = doc.get("userinfo_endpoint")
    return ProviderMetadata(
        issuer=named,
        authorization_endpoint=_require_secure(doc.get("authorization_endpoint")),
        token_endpoint=_require_secure(doc.get("token_endpoint")),
        jwks_uri=_require_secure(doc.get("jwks_uri")),
        userinfo_endpoint=_require_secure(userinfo) if userinfo else None,
        signing_algs=algs,
        token_auth_method=method,
    )


async def provider_metadata(issuer: str) -> ProviderMetadata:
    """The provider's checked discovery document, cached per issuer for ``CACHE_TTL``."""
    hit = _metadata_cache.get(issuer)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    doc = await _get_json(_require_secure(issuer).rstrip("/") + "/.well-known/openid-configuration")
    meta = _parse_metadata(issuer, doc)
    _metadata_cache[issuer] = (time.monotonic() + CACHE_TTL, meta)
    return meta


async def _key_set(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    hit = _jwks_cache.get(jwks_uri)
    if hit and hit[0] > time.monotonic() and not refresh:
        return hit[1]
    try:
        keys = KeySet.import_key_set(await _get_json(jwks_uri))  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        log.warning("sso.jwks_invalid", url=jwks_uri, error=repr(exc))
        raise SsoProviderUnavailable() from exc
    _jwks_cache[jwks_uri] = (time.monotonic() + CACHE_TTL, keys)
    return keys


@asynccontextmanager
async def _oauth(client: SsoClient, meta: ProviderMetadata) -> AsyncIterator[AsyncOAuth2Client]:
    async with AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        token_endpoint_auth_method=meta.token_auth_method,
        scope=client.scopes,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
        follow_redirects=False,
    ) as oauth:
        yield oauth


# --- pending sign-ins in the session --------------------------------------------------------


def remember(session: SessionData, pending: PendingSignIn) -> None:
    """Keep the attempt in the session (the newest few, so parallel tabs each work)."""
    entries: dict[str, Any] = dict(session.data.get(SESSION_KEY) or {})
    entries[pending.state] = asdict(pending)
    newest = sorted(entries.items(), key=lambda kv: kv[1].get("started_at", 0.0))[-MAX_PENDING:]
    session.set(SESSION_KEY, dict(newest))


def take(session: SessionData, state: str, tenant_id: int) -> PendingSignIn:
    """The attempt ``state`` names, removed from the session: a state is good for one callback."""
    entries: dict[str, Any] = dict(session.data.get(SESSION_KEY) or {})
    raw = entries.pop(state, None) if state else None
    if raw is not None:
        session.set(SESSION_KEY, entries)
    try:
        pending = PendingSignIn(**raw) if isinstance(raw, dict) else None
    except TypeError:
        pending = None
    if pending is None or pending.tenant_id != tenant_id or time.time() - pending.started_at > PENDING_TTL:
        raise SsoStateInvalid()
    return pending


def discard(session: SessionData, state: str) -> None:
    entries: dict[str, Any] = dict(session.data.get(SESSION_KEY) or {})
    if state and entries.pop(state, None) is not None:
        session.set(SESSION_KEY, entries)


# --- the flow -------------------------------------------------------------------------------


async def begin(client: SsoClient, *, next_path: str, tenant_id: int) -> tuple[str, PendingSignIn]:
    """The provider's authorization URL to send the browser to, and the attempt to remember."""
    meta = await provider_metadata(client.issuer)
    pending = PendingSignIn(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),  # RFC 7636 §4.1: 43-128 unreserved characters
        next_path=next_path,
        tenant_id=tenant_id,
        started_at=time.time(),
    )
    async with _oauth(client, meta) as oauth:
        url, _state = oauth.create_authorization_url(
            meta.authorization_endpoint,
            state=pending.state,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
    return url, pending


async def finish(client: SsoClient, pending: PendingSignIn, *, code: str, iss: str = "") -> Identity:
    """Exchange the code (with the PKCE verifier) and verify the ID token; who signed in."""
    meta = await provider_metadata(client.issuer)
    if iss and iss != meta.issuer:  # RFC 9207: the answer came from another provider (mix-up attack)
        log.warning("sso.iss_mismatch", expected=meta.issuer, got=iss)
        raise SsoTokenInvalid()
    if not code:
        raise SsoTokenInvalid()
    await ensure_public_destination(meta.token_endpoint)
    if meta.userinfo_endpoint:
        await ensure_public_destination(meta.userinfo_endpoint)
    async with _oauth(client, meta) as oauth:
        try:
            token = await oauth.fetch_token(
                meta.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
            )
        except OAuthError as exc:  # e.g. invalid_grant: a code used twice or issued to another client
            log.warning("sso.token_refused", error=exc.error, description=exc.description)
            raise SsoTokenInvalid() from exc
        except (httpx2.HTTPError, ValueError) as exc:
            log.warning("sso.token_failed", error=repr(exc))
            raise SsoProviderUnavailable() from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            log.warning("sso.no_id_token", issuer=meta.issuer)
            raise SsoTokenInvalid()
        claims = await verify_id_token(
            client, meta, id_token, nonce=pending.nonce, access_token=token.get("access_token")
        )
        if "email" not in claims and meta.userinfo_endpoint:
            claims = {**await _userinfo(oauth, meta.userinfo_endpoint, claims["sub"]), **claims}
    return _identity(meta.issuer, claims)


async def verify_id_token(
    client: SsoClient, meta: ProviderMetadata, id_token: str, *, nonce: str, access_token: str | None = None
) -> dict[str, Any]:
    """The ID token's claims if its signature, issuer, audience, times and nonce are all right."""
    registry = JWSRegistry(algorithms=list(meta.signing_algs), strict_check_header=False)
    try:
        try:
            token = jwt.decode(id_token, await _key_set(meta.jwks_uri), registry=registry)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, await _key_set(meta.jwks_uri, refresh=True), registry=registry)
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": meta.issuer},
                "aud": {"essential": True, "value": client.client_id},
                "nonce": {"essential": True, "value": nonce},
            },
            {"nonce": nonce, "client_id": client.client_id, "access_token": access_token},
        )
        claims.validate(leeway=LEEWAY)
    except (JoseError, ValueError) as exc:
        log.warning("sso.id_token_rejected", issuer=meta.issuer, error=repr(exc))
        raise SsoTokenInvalid() from exc
    return dict(claims)


async def _userinfo(oauth: AsyncOAuth2Client, url: str, subject: str) -> dict[str, Any]:
    """Claims the ID token left out (some providers send only ``sub`` in it)."""
    try:
        response = await oauth.get(url)
        response.raise_for_status()
        data = response.json()
    except (httpx2.HTTPError, OAuthError, ValueError) as exc:
        log.warning("sso.userinfo_failed", error=repr(exc))
        raise SsoProviderUnavailable() from exc
    if not isinstance(data, dict) or data.get("sub") != subject:  # OIDC Core §5.3.4
        log.warning("sso.userinfo_subject_mismatch")
        raise SsoTokenInvalid()
    return {k: data[k] for k in ("email", "email_verified", "name") if k in data}


def _identity(issuer: str, claims: dict[str, Any]) -> Identity:
    email = claims.get("email")
    name = claims.get("name")
    return Identity(
        issuer=issuer,
        subject=str(claims["sub"]),
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        # Some providers send the string "true"; anything else, or nothing, is "not verified".
        email_verified=claims.get("email_verified") in (True, "true"),
        name=name.strip() if isinstance(name, str) and name.strip() else None,
    )
