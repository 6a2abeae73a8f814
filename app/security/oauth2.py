"""The OAuth2 token endpoint for API clients (PLAT-9), built on Authlib's RFC 6749 server.

Only the client-credentials grant is offered. Authlib does the protocol work — client
authentication (``client_secret_basic`` / ``client_secret_post``), grant validation, scope
validation and RFC 6749 §5.2 error bodies; we supply the client lookup (async, before Authlib
runs, because Authlib's server API is synchronous) and store issued tokens in Redis.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import scope_to_list
from litestar import Request, Response, post
from sqlalchemy import select, text

from app.kernel.db import get_database, utcnow
from app.security import api_tokens
from app.security.models import ApiClient
from app.security.permissions import PUBLIC
from app.security.services.api_clients import secret_matches
from app.settings import get_settings

TOKEN_TTL = api_tokens.TOKEN_TTL_SECONDS


class _Client(ClientMixin):
    def __init__(self, row: ApiClient, tenant_active: bool) -> None:
        self.row = row
        self.tenant_active = tenant_active

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.row.scopes)
        if not scope:
            return " ".join(sorted(allowed))
        return " ".join(s for s in sorted(set(scope_to_list(scope))) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.tenant_active and self.row.revoked_at is None and secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class _TokenRequest(OAuth2Request):
    """Authlib's request seen through our already-parsed form (the body was read once, async)."""

    def __init__(self, method: str, uri: str, headers: Any, form: dict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class _ClientCredentials(ClientCredentialsGrant):
    # Authlib's grant allows only HTTP Basic by default; RFC 6749 §2.3.1 also allows the form body.
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class _Server(AuthorizationServer):
    """One per request: it carries the pre-fetched client and collects the issued token."""

    def __init__(self, client: _Client | None) -> None:
        super().__init__()
        self._client = client
        self.issued: dict[str, Any] | None = None
        self.register_grant(_ClientCredentials)
        self.register_token_generator("default", self._generate)

    def query_client(self, client_id: str) -> _Client | None:
        return self._client if self._client and self._client.get_client_id() == client_id else None

    def _generate(
        self,
        grant_type: str,
        client: _Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        # The access token itself is minted in Redis after Authlib approves (see token_endpoint).
        return {
            "token_type": "Bearer",
            "access_token": "",
            "expires_in": TOKEN_TTL,
            "scope": client.get_allowed_scope(scope),
        }

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.issued = token

    def validate_requested_scope(self, scope: str | None) -> None:
        if scope and self._client is not None:
            unknown = set(scope_to_list(scope)) - set(self._client.row.scopes)
            if unknown:
                raise InvalidScopeError(
                    description=f"scope not granted to this client: {' '.join(sorted(unknown))}"
                )

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, dict[str, str]]:
        return status, body, dict(headers or [])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def _client_id_from(request_headers: dict[str, str], form: dict[str, str]) -> str | None:
    auth = request_headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return unquote(decoded.partition(":")[0]) or None
    return form.get("client_id") or None


NO_CACHE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@post(
    "/oauth/token",
    opt={"permission": PUBLIC, "host": "any", "csrf_exempt": True, "skip_auth": True},
    summary="Issue an access token (OAuth2 client credentials)",
    tags=["auth"],
    status_code=200,
)
async def token_endpoint(request: Request[Any, Any, Any]) -> Response[Any]:
    """RFC 6749 §4.4. Authenticate with HTTP Basic (client_id:client_secret) or form fields."""
    form_data = await request.form()
    form = {k: v for k, v in form_data.items() if isinstance(v, str)}
    headers = {k.lower(): v for k, v in request.headers.items()}
    client: _Client | None = None
    client_id = _client_id_from(headers, form)
    if client_id:
        async with get_database().shared_session() as s:
            row = (await s.execute(select(ApiClient).where(ApiClient.client_id == client_id[:64]))).scalar()
            if row is not None:
                status = await s.scalar(
                    text("SELECT status FROM public.tenants WHERE id = :id"), {"id": row.tenant_id}
                )
                client = _Client(row, status == "active")
    server = _Server(client)
    uri = str(request.url)
    if get_settings().environment != "production":  # Authlib insists on https; dev/test run plain http
        uri = uri.replace("http://", "https://", 1)
    try:
        oauth_request = _TokenRequest(request.method, uri, request.headers, form)  # headers: case-insensitive
    except InsecureTransportError:  # plain http in production: a client error, not a 500 (RFC 6749 §1.6)
        body = {"error": "invalid_request", "error_description": "The token endpoint requires HTTPS."}
        return Response(body, status_code=400, headers=NO_CACHE, media_type="application/json")
    status, body, out_headers = server.create_token_response(oauth_request)
    if status == 200 and server.issued is not None and client is not None:
        scopes = scope_to_list(server.issued["scope"]) or []
        body["access_token"] = await api_tokens.issue(
            api_tokens.TokenInfo(
                tenant_id=client.row.tenant_id,
                client_pk=client.row.id,
                client_id=client.row.client_id,
                scopes=list(scopes),
                user_id=client.row.acting_user_id,
            )
        )
        async with get_database().shared_session() as s:
            db_row = await s.get(ApiClient, client.row.id)
            if db_row is not None:
                db_row.last_used_at = utcnow()
                s.info["audit_disabled"] = True  # bookkeeping, not a change worth auditing
                await s.commit()
    out_headers.update(NO_CACHE)
    return Response(body, status_code=status, headers=out_headers, media_type="application/json")


ROUTES = [token_endpoint]
