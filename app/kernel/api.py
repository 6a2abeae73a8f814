"""The conventions every JSON API route follows (PLAT-9), in one place so later contexts can't drift.

* ``operation(permission, resource=...)`` — the keyword arguments of every API route decorator:
  the guard's ``opt``, the OAuth2 scope the operation needs and its documented problem responses.
* ``dto=StrictBody[T], return_dto=None`` — request bodies decode *strictly* into the msgspec
  Struct ``T`` (no ``"3"`` for ``3``; unknown fields refused via ``forbid_unknown_fields``), and
  errors are 400 problems naming the field. Litestar's own decoding is lax, hence this DTO.
* ``Limit`` / ``Cursor`` query parameters with ``app.kernel.pagination.fetch_page`` for lists.
* ``create_once(...)`` — a create that honours ``Idempotency-Key`` (``app.kernel.idempotency``).
* ``API_ROUTER_OPTIONS`` — the /api/v1 router: any host, bearer tokens only (``opt['bearer_only']``).

    @post("/teams", dto=StrictBody[TeamCreate], return_dto=None, **operation(ADMIN_TEAMS_MANAGE))
    async def create_team(request: Request, db: DbSession, data: JSONBody[TeamCreate],
                          idempotency_key: IdempotencyKey = None) -> Response[TeamOut]:
        return await create_once(request, db, actor=..., key=idempotency_key, data=data, out=TeamOut,
                                 create=lambda: ...)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.dto import MsgspecDTO
from litestar.exceptions import ClientException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.typing import FieldDefinition
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import idempotency
from app.kernel.errors import Conflict
from app.kernel.pagination import MAX_LIMIT

OAUTH2_SCHEME = "oauth2"  # the security scheme declared by app.main.openapi_config()
PROBLEM_MEDIA_TYPE = "application/problem+json"
REPLAYED_HEADER = "Idempotent-Replayed"

Body = TypeVar("Body", bound=msgspec.Struct)
Out = TypeVar("Out", bound=msgspec.Struct)

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Items per page, 1 to 200.")]
Cursor = Annotated[
    str | None,
    QueryParameter(description="The `next_cursor` of the previous page, unchanged. Omit for the first page."),
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="A unique key (1-200 characters) per intended create: a retry with the same key and "
        "body returns the first answer with `Idempotent-Replayed: true` and creates nothing.",
    ),
]


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details with Tessera's stable ``code`` (the body of every error)."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


_PROBLEMS = {
    400: "Malformed request: invalid JSON, a wrong type, an unknown or missing field, a bad query "
    "parameter or cursor (codes `malformed_json`, `invalid_request`, `invalid_cursor`, "
    "`idempotency_key_invalid`).",
    401: "No valid access token: missing, expired, revoked, or issued for another organisation "
    "(code `unauthorized`).",
    403: "The token lacks this operation's scope (`forbidden`) or the organisation is suspended.",
    404: "No such record in your organisation (`not_found`).",
    409: "The request conflicts with the current state of the record (see `code`).",
    413: "The request body is larger than the server accepts (`body_too_large`).",
    422: "Well-formed but not acceptable: `validation_failed` with field `errors`, or "
    "`idempotency_key_reused`.",
}


def problem_responses(statuses: Iterable[int]) -> dict[int, ResponseSpec]:
    return {
        s: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=_PROBLEMS[s],
            generate_examples=False,
        )
        for s in sorted(set(statuses))
    }


def operation(
    permission: str, *, resource: str | None = None, problems: Iterable[int] = ()
) -> dict[str, Any]:
    """Decorator kwargs for an API route: guard ``opt``, OAuth2 scope, documented problem responses.

    A catalogue permission is also the OAuth2 scope; the ``authenticated`` marker needs none.
    ``resource`` names the record an ``{id}`` route reads (tests/test_routes.py checks isolation).
    """
    opt: dict[str, Any] = {"permission": permission}
    if resource is not None:
        opt["resource"] = resource
    scopes = [permission] if "." in permission else []
    return {
        "opt": opt,
        "security": [{OAUTH2_SCHEME: scopes}],
        "responses": problem_responses({400, 401, 403, *problems}),
    }


_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"^Object (?:contains unknown|missing required) field `(?P<name>[^`]+)`")


# Router keyword arguments for /api/v1 (app.main.api_routes): the token, not the host, names the
# tenant; ``bearer_only`` makes the one guard (app/security/guards.py) refuse cookie sign-ins, so
# a browser's session never authorises an API call and API routes need no CSRF token.
API_ROUTER_OPTIONS: dict[str, Any] = {"opt": {"host": "any", "csrf_exempt": True, "bearer_only": True}}


def _field_error(exc: msgspec.ValidationError) -> dict[str, str]:
    """msgspec's "Expected `int`, got `str` - at `$.team_id`" as {"key": "team_id", "message": ...}."""
    message, path = str(exc), ""
    if m := _AT_PATH.search(message):
        message, path = message[: m.start()], m["path"].lstrip(".")
    if m := _NAMED_FIELD.match(message):
        path = f"{path}.{m['name']}" if path else m["name"]
    return {"key": path or "body", "message": message, "source": "body"}


class StrictBody(MsgspecDTO[Body]):
    """Decode the JSON body strictly into the Struct; keep the Struct's own OpenAPI schema."""

    def decode_bytes(self, value: bytes) -> Any:
        try:
            return msgspec.json.decode(value, type=self.model_type, strict=True)
        except msgspec.ValidationError as exc:
            raise ValidationException(
                "The request body does not match the schema.", extra=[_field_error(exc)]
            ) from exc
        except msgspec.DecodeError as exc:
            raise ClientException(
                f"The request body is not valid JSON: {exc}", extra=[{"key": "body", "message": str(exc)}]
            ) from exc

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Any:
        return schema_creator.for_field_definition(FieldDefinition.from_annotation(cls.model_type))


def as_utc(moment: datetime | None) -> datetime | None:
    """Query timestamps without an offset are read as UTC (documented in docs/api.md)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


async def create_once(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    *,
    actor: str,
    key: str | None,
    data: msgspec.Struct,
    out: type[Out],
    create: Callable[[], Awaitable[Out]],
) -> Response[Out]:
    """Run ``create`` (which returns the new record's representation, with an ``id``) at most once
    per ``Idempotency-Key`` of ``actor``, answering 201 with a ``Location``.

    The key is reserved in the request's transaction before the create, so the reservation, the
    record and the remembered answer commit together — or not at all (a failed create leaves the
    key free for a corrected retry). A concurrent duplicate blocks on the key's unique index until
    the first commits, then replays. The fingerprint is the route plus the *decoded* body, so
    whitespace or key order do not make a retry "different".
    """
    route = f"{request.method} {request.url.path}"
    if key is not None:
        earlier = await idempotency.reserve(
            session, principal=actor, key=key, route=route, body=msgspec.json.encode(data)
        )
        if earlier is not None:
            return _replay(request, earlier, out)
    created = await create()
    ident: int = created.id  # type: ignore[attr-defined]  # every representation has an id
    if key is not None:
        await idempotency.remember(
            session,
            principal=actor,
            key=key,
            status_code=201,
            response=msgspec.to_builtins(created),
            resource_id=ident,
        )
    return Response(created, status_code=201, headers={"Location": _location(request, ident)})


def _location(request: Request[Any, Any, Any], ident: int) -> str:
    return f"{request.url.path.rstrip('/')}/{ident}"


def _replay(
    request: Request[Any, Any, Any], earlier: idempotency.IdempotencyKey, out: type[Out]
) -> Response[Any]:
    if earlier.status_code is None:  # unreachable: reservation and answer commit together
        raise Conflict("idempotency_key_in_progress", "A request with this Idempotency-Key is still running.")
    try:  # re-encode through the Struct so the replay is byte-identical (JSONB reorders keys)
        body: Any = msgspec.convert(earlier.response, out, strict=False)
    except msgspec.ValidationError:  # the representation changed since; the stored JSON is still the answer
        body = earlier.response
    headers = {REPLAYED_HEADER: "true"}
    if earlier.resource_id is not None:
        headers["Location"] = _location(request, earlier.resource_id)
    return Response(body, status_code=earlier.status_code, headers=headers)
