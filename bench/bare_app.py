"""The baseline of bench/api_vs_bare.py: a bare Litestar app reading one users row, nothing else.

One handler, ``GET /users/{user_id}``: the same ``SELECT`` of one row of ``users`` through
SQLAlchemy async, on Tessera's own engine (``app.kernel.db.Database``: same pool, asyncpg
statement cache and connect arguments) bound with ``schema_translate_map`` to the tenant schema
named by ``BENCH_TENANT_SCHEMA`` — and a msgspec Struct encoded as JSON. No middleware, no
authentication, no guard, no tenant lookup, no dependency injection beyond the path parameter.

    BENCH_TENANT_SCHEMA=tenant_acme uvicorn bench.bare_app:create_bare_app --factory ...

A second handler, ``GET /users/{user_id}/same-work``, is a *diagnostic* baseline, not the
target's: it does the API handler's own data work — the user and its role keys in one statement
(``app.security.services.users.get_user_with_roles``), a commit, the API's ``schemas.User`` —
still with no middleware, no token and no guard. The API against it isolates what the platform's request
pipeline costs from what the route itself reads.
"""

from __future__ import annotations

import os
from datetime import datetime

import msgspec
from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from sqlalchemy import select

from app.kernel.db import close_database, get_database, validate_schema_name
from app.kernel.errors import NotFound
from app.security import schemas
from app.security.models import User
from app.security.services.users import get_user_with_roles


class UserRow(msgspec.Struct):
    id: int
    email: str
    full_name: str
    active: bool
    external: bool
    team_id: int | None
    locale: str | None
    timezone: str | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


def create_bare_app() -> Litestar:
    schema = validate_schema_name(os.environ["BENCH_TENANT_SCHEMA"])
    database = get_database()

    @get("/users/{user_id:int}")
    async def get_user(user_id: int) -> UserRow:
        async with database.tenant_session(schema) as session:
            user = (await session.execute(select(User).where(User.id == user_id))).scalar_one_or_none()
        if user is None:
            raise NotFoundException()
        return UserRow(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            active=user.is_active,
            external=user.is_external,
            team_id=user.team_id,
            locale=user.locale,
            timezone=user.timezone,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )

    @get("/users/{user_id:int}/same-work")
    async def get_user_same_work(user_id: int) -> schemas.User:
        async with database.tenant_session(schema) as session:
            try:
                user, roles = await get_user_with_roles(session, user_id)
            except NotFound as exc:
                raise NotFoundException() from exc
            await session.commit()
        return schemas.user_of(user, roles)

    return Litestar(
        route_handlers=[get_user, get_user_same_work],
        on_shutdown=[close_database],
        debug=False,
        logging_config=None,
    )
