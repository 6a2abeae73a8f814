"""create_app(): the Litestar application — middleware, guard, error handling, route registration.

Route lists come from each package's ``ROUTES``; adding a portal or API means adding its list
here. Every route must declare a permission (checked at start-up and by tests/test_routes.py).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Litestar, Request, Router
from litestar.config.compression import CompressionConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import templating
from app.kernel.db import close_database
from app.kernel.logging import configure_logging
from app.kernel.problems import EXCEPTION_HANDLERS
from app.kernel.redis import close_redis
from app.kernel.web import RequestContextMiddleware, add_response_headers, request_session
from app.security.guards import authorize, check_route_permissions
from app.security.permissions import CATALOGUE, PUBLIC
from app.security.principal import Principal
from app.security.web import AuthMiddleware
from app.settings import ROOT, get_settings
from portals.admin.controllers import ROUTES as ADMIN_ROUTES
from portals.auth.controllers import ROUTES as AUTH_ROUTES
from portals.auth.sso import ROUTES as SSO_ROUTES
from portals.crm.controllers import ROUTES as CRM_ROUTES
from portals.customer.controllers import ROUTES as CUSTOMER_ROUTES
from portals.finance.controllers import ROUTES as FINANCE_ROUTES
from portals.home.controllers import ROUTES as HOME_ROUTES
from portals.marketing.controllers import ROUTES as MARKETING_ROUTES
from portals.operator.controllers import ROUTES as OPERATOR_ROUTES
from portals.sales.controllers import ROUTES as SALES_ROUTES
from portals.service.controllers import ROUTES as SERVICE_ROUTES
from tenants.ops import ROUTES as OPS_ROUTES
from tenants.routing import TenantMiddleware, directory, registry_listener

API_VERSION = "v1"


async def provide_db(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """The request's unit of work: committed if the handler succeeds, rolled back otherwise."""
    session: AsyncSession = request_session(request.scope)
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    else:
        await session.commit()


def provide_principal(request: Request[Any, Any, Any]) -> Principal | None:
    return request.scope["state"].get("principal")


def api_routes() -> list[Any]:
    from app.crm.api import ROUTES as CRM_API
    from app.finance.api import ROUTES as FINANCE_API
    from app.kernel.api import API_ROUTER_OPTIONS
    from app.security.api import ROUTES as SECURITY_API
    from app.security.oauth2 import ROUTES as OAUTH_ROUTES

    return [
        Router(path=f"/api/{API_VERSION}", route_handlers=SECURITY_API, **API_ROUTER_OPTIONS),
        Router(path=f"/api/{API_VERSION}/crm", route_handlers=CRM_API, **API_ROUTER_OPTIONS),
        Router(path=f"/api/{API_VERSION}/finance", route_handlers=FINANCE_API, **API_ROUTER_OPTIONS),
        *OAUTH_ROUTES,
    ]


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Tessera API",
        version="1.0.0",
        description=(
            "Tessera's JSON API. Authenticate with an OAuth2 client-credentials token from `/oauth/token` "
            "(clients are issued by your tenant administrator); scopes are Tessera permission names. "
            "Errors are RFC 9457 problem details with a stable `code`."
        ),
        path="/schema",
        render_plugins=[JsonRenderPlugin()],  # no CDN-hosted viewer: the JSON is the contract
        openapi_router=Router(
            path="/schema",
            route_handlers=[],
            opt={"permission": PUBLIC, "host": "any", "skip_auth": True},
            include_in_schema=False,  # the document describes the API, not itself
        ),
        components=Components(
            security_schemes={
                "oauth2": SecurityScheme(
                    type="oauth2",
                    description="OAuth2 client credentials; a token is valid for its own tenant only.",
                    flows=OAuthFlows(
                        client_credentials=OAuthFlow(
                            token_url="/oauth/token",  # noqa: S106
                            scopes={p.key: p.label for p in CATALOGUE},  # scopes = permission names
                        )
                    ),
                )
            }
        ),
        security=[{"oauth2": []}],
    )


def create_app() -> Litestar:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    static = create_static_files_router(
        path="/static",
        directories=[ROOT / "portals" / "static"],
        opt={"permission": PUBLIC, "host": "any", "skip_auth": True},
        include_in_schema=False,
        cache_control=None,
    )
    # HTML pages are not part of the API contract (/schema/openapi.json documents the API only).
    pages = Router(
        path="/",
        route_handlers=[
            *AUTH_ROUTES,
            *SSO_ROUTES,
            *HOME_ROUTES,
            *CRM_ROUTES,
            *SALES_ROUTES,
            *FINANCE_ROUTES,
            *MARKETING_ROUTES,
            *SERVICE_ROUTES,
            *CUSTOMER_ROUTES,
            *ADMIN_ROUTES,
            *OPERATOR_ROUTES,
        ],
        include_in_schema=False,
    )
    handlers: list[Any] = [*OPS_ROUTES, pages, *api_routes(), static]
    app = Litestar(
        route_handlers=handlers,
        middleware=[
            RequestContextMiddleware(),
            TenantMiddleware(),
            AuthMiddleware(tenant_by_id=directory.by_id),
        ],
        guards=[authorize],
        dependencies={
            "db": Provide(provide_db),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(templating.environment())),
        openapi_config=openapi_config(),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=6),
        request_max_body_size=settings.max_request_body_bytes,
        before_send=[add_response_headers],
        logging_config=None,  # ours (app/kernel/logging.py): JSON lines with tenant and request id
        on_startup=[registry_listener.start],
        on_shutdown=[registry_listener.stop, close_database, close_redis],
        debug=False,
        plugins=[_cli_plugin()],
    )
    check_route_permissions([r for route in app.routes for r in getattr(route, "route_handlers", [])])
    return app


def _cli_plugin() -> Any:
    from app.cli import TesseraCLIPlugin

    return TesseraCLIPlugin()
