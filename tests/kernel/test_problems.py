"""Errors are problem details on the API and proper pages in the browser — never a bare 500."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from app.kernel import templating
from app.kernel.problems import EXCEPTION_HANDLERS
from tests.helpers import http


async def test_unknown_host_is_a_404_page(app, world):
    async with http(app, "nobody.tessera.test") as c:
        r = await c.get("/login")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "The organisation was not found." in r.text


async def test_unknown_host_is_a_404_problem_for_json_clients(app, world):
    async with http(app, "nobody.tessera.test") as c:
        r = await c.get("/login", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["status"], body["code"], body["type"]) == (
        404,
        "unknown_tenant",
        "https://tessera.dev/problems/unknown_tenant",
    )


async def test_unknown_api_path_is_a_404_problem(app, acme):
    async with http(app, acme.host) as c:
        r = await c.get("/api/v1/does-not-exist")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


async def test_tenant_pages_are_not_served_on_the_platform_host(app, world):
    async with http(app, "tessera.test") as c:
        r = await c.get("/login")
    assert r.status_code == 404


async def test_wrong_method_is_405(app, acme):
    async with http(app, acme.host) as c:
        r = await c.put("/login", headers={"Accept": "application/json"})
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"


async def test_unexpected_errors_answer_500_without_internals():
    @get("/boom", opt={"permission": "public"})
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    mini = Litestar(
        [boom],
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(templating.environment())),
        debug=False,
    )
    async with http(mini, "x.test") as c:
        api = await c.get("/boom", headers={"Accept": "application/json"})
        page = await c.get("/boom")
    assert api.status_code == 500
    assert api.json()["code"] == "internal_error"
    assert "secret internal detail" not in api.text
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "secret internal detail" not in page.text
