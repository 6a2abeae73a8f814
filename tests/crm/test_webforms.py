"""Public web forms (CRM-2): the hosted page, form and JSON posts, honeypot, render-token timing,
length limits, rate limits per IP and per form, campaign attribution; the marketing pages."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from sqlalchemy import select

from app.crm.models import Campaign, CampaignRecipient, Lead, WebForm
from app.crm.services import webforms
from app.kernel import context
from app.kernel.redis import get_redis
from tenants.service import in_tenant
from tests.crm.factories.leads import add_web_form
from tests.crm.support import count_rows
from tests.helpers import http, signed_in


def marker() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(autouse=True)
async def _fresh_limits():
    r = get_redis()
    keys = [k async for k in r.scan_iter(match="tessera:wf:*")]
    if keys:
        await r.delete(*keys)


async def _form(acme, **values) -> WebForm:
    async with in_tenant(acme.slug) as (s, _):
        form = await add_web_form(s, values.pop("name", f"Contact us {marker()}"), **values)
        s.expunge(form)
        return form


def token(acme, key: str, age: float = 5.0) -> str:
    with context.bound(tenant=context.TenantRef(id=acme.id, slug=acme.slug, schema=acme.schema, name="")):
        return webforms.render_token(key, rendered_at=time.time() - age)


async def _leads_named(acme, name: str) -> list[Lead]:
    async with in_tenant(acme.slug) as (s, _):
        rows = await s.execute(select(Lead).where(Lead.full_name == name))
        return list(rows.scalars())


async def test_the_hosted_form_is_public_and_sets_no_cookie(app, acme):
    form = await _form(acme)
    async with http(app, acme.host) as c:
        r = await c.get(f"/f/{form.key}?utm_source=newsletter")
        assert r.status_code == 200
        assert "set-cookie" not in r.headers
        assert "frame-ancestors *" in r.headers["content-security-policy"]
        assert form.name in r.text
        assert 'name="website"' in r.text  # the honeypot
        assert re.search(r'name="_ts" value="[^"]+"', r.text)
        assert 'name="utm_source" value="newsletter"' in r.text
        assert (await c.get("/f/no-such-form-key")).status_code == 404


async def test_a_visitor_sends_the_form_and_a_lead_is_created(app, acme):
    m = marker()
    form = await _form(acme, thank_you_message="谢谢！我们会尽快联系您。")
    async with http(app, acme.host) as c:
        r = await c.post(
            f"/f/{form.key}",
            data={
                "full_name": f"Visitor {m}",
                "email": f"v{m}@example.com",
                "company": "Small Shop",
                "message": "Price list please",
                "_ts": token(acme, form.key),
                "utm_source": "google",
                "utm_medium": "cpc",
                "website": "",
            },
        )
    assert r.status_code == 200
    assert "谢谢！我们会尽快联系您。" in r.text
    [lead] = await _leads_named(acme, f"Visitor {m}")
    assert (lead.source, lead.source_detail, lead.company, lead.message, lead.email) == (
        "web_form",
        f"{form.name} · google / cpc",
        "Small Shop",
        "Price list please",
        f"v{m}@example.com",
    )
    async with in_tenant(acme.slug) as (s, _):
        assert (await s.get(WebForm, form.id)).submissions == 1


async def test_redirect_after_sending(app, acme):
    form = await _form(acme, redirect_url="https://www.acme.example/thanks")
    async with http(app, acme.host) as c:
        r = await c.post(
            f"/f/{form.key}", data={"full_name": "R", "email": "r@x.example", "_ts": token(acme, form.key)}
        )
    assert r.status_code == 303
    assert r.headers["location"] == "https://www.acme.example/thanks"
    assert "https://www.acme.example" in r.headers["content-security-policy"]


async def test_json_posts(app, acme):
    m = marker()
    form = await _form(acme)
    async with http(app, acme.host) as c:
        info = await c.get(f"/f/{form.key}", headers={"Accept": "application/json"})
        assert info.json()["token_field"] == "_ts"
        ok = await c.post(
            f"/f/{form.key}",
            json={"full_name": f"J {m}", "email": f"j{m}@x.example", "_ts": token(acme, form.key)},
        )
        assert ok.status_code == 201
        assert ok.json()["status"] == "received"
        bad = await c.post(
            f"/f/{form.key}", json={"full_name": "", "email": "nope", "_ts": token(acme, form.key)}
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert {e["field"]: e["message"] for e in bad.json()["errors"]} == {
            "full_name": "This field is required."
        }
        bad_mail = await c.post(
            f"/f/{form.key}", json={"full_name": "N", "email": "nope", "_ts": token(acme, form.key)}
        )
        assert bad_mail.json()["errors"] == [{"field": "email", "message": "Enter a valid e-mail address."}]
        not_json = await c.post(
            f"/f/{form.key}", content=b"[1, 2]", headers={"Content-Type": "application/json"}
        )
        assert not_json.status_code == 422
    assert len(await _leads_named(acme, f"J {m}")) == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("missing", "web_form_token_missing"),
        ("forged", "web_form_token_invalid"),
        ("fast", "web_form_too_fast"),
        ("old", "web_form_token_expired"),
        ("other_form", "web_form_token_invalid"),
    ],
)
async def test_the_render_token_must_be_genuine_and_neither_too_fresh_nor_too_old(app, acme, case, code):
    form = await _form(acme)
    other = await _form(acme)
    ts = {
        "missing": "",
        "forged": token(acme, form.key)[:-4] + "abcd",
        "fast": token(acme, form.key, age=0.5),
        "old": token(acme, form.key, age=2 * 24 * 3600),
        "other_form": token(acme, other.key),
    }[case]
    before = await count_rows(acme, "crm_leads")
    async with http(app, acme.host) as c:
        r = await c.post(f"/f/{form.key}", json={"full_name": "T", "email": "t@x.example", "_ts": ts})
        assert (r.status_code, r.json()["code"]) == (422, code)
        page = await c.post(f"/f/{form.key}", data={"full_name": "Typed", "email": "t@x.example", "_ts": ts})
        assert page.status_code == 422
        assert "Please check your details and send the form again." in page.text
        assert 'value="Typed"' in page.text  # kept, with a fresh token to send again
    assert await count_rows(acme, "crm_leads") == before


async def test_the_honeypot_catches_bots_quietly(app, acme):
    m = marker()
    form = await _form(acme)
    async with http(app, acme.host) as c:
        r = await c.post(
            f"/f/{form.key}",
            data={
                "full_name": f"Bot {m}",
                "email": "b@x.example",
                "website": "http://spam.example",
                "_ts": token(acme, form.key),
            },
        )
    assert r.status_code == 200
    assert "Thank you!" in r.text
    assert await _leads_named(acme, f"Bot {m}") == []


async def test_overlong_fields_are_refused(app, acme):
    form = await _form(acme)
    async with http(app, acme.host) as c:
        r = await c.post(
            f"/f/{form.key}",
            json={
                "full_name": "L",
                "email": "l@x.example",
                "message": "x" * 5001,
                "_ts": token(acme, form.key),
            },
        )
    assert r.json()["errors"] == [{"field": "message", "message": "Use at most 5000 characters."}]


async def test_rate_limited_per_ip(app, acme):
    form = await _form(acme)
    window, limit = webforms.PER_IP_LIMIT
    async with http(app, acme.host) as c:
        for i in range(limit):
            r = await c.post(
                f"/f/{form.key}",
                json={"full_name": f"Rate {i}", "email": f"r{i}@x.example", "_ts": token(acme, form.key)},
            )
            assert r.status_code == 201
        r = await c.post(
            f"/f/{form.key}",
            json={"full_name": "One too many", "email": "x@x.example", "_ts": token(acme, form.key)},
        )
        assert (r.status_code, r.json()["code"]) == (429, "web_form_throttled")
        assert 0 < int(r.headers["retry-after"]) <= window
        page = await c.post(
            f"/f/{form.key}",
            data={"full_name": "Again", "email": "x@x.example", "_ts": token(acme, form.key)},
        )
        assert page.status_code == 429
        assert "Too many submissions from your connection." in page.text
    assert await _leads_named(acme, "One too many") == []


async def test_rate_limited_per_form(app, acme, monkeypatch):
    monkeypatch.setattr(webforms, "PER_FORM_LIMIT", (3600, 2))
    monkeypatch.setattr(webforms, "PER_IP_LIMIT", (600, 100))
    form = await _form(acme)
    codes = []
    for i in range(3):
        async with http(app, acme.host) as c:
            r = await c.post(
                f"/f/{form.key}",
                json={"full_name": f"F{i}", "email": f"f{i}@x.example", "_ts": token(acme, form.key)},
            )
            codes.append(r.status_code)
    assert codes == [201, 201, 429]


async def test_an_inactive_form_accepts_nothing(app, acme):
    form = await _form(acme, active=False)
    async with http(app, acme.host) as c:
        assert (await c.get(f"/f/{form.key}")).status_code == 404
        r = await c.post(
            f"/f/{form.key}", json={"full_name": "N", "email": "n@x.example", "_ts": token(acme, form.key)}
        )
        assert r.status_code == 404


async def test_campaign_attribution_by_recipient_token_or_form(app, acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        spring = Campaign(name=f"Spring {m}", currency="CNY")
        autumn = Campaign(name=f"Autumn {m}", currency="CNY")
        s.add_all([spring, autumn])
        await s.flush()
        recipient = CampaignRecipient(
            campaign_id=autumn.id, email=f"r{m}@x.example", token=f"tok{m}{'x' * 20}"
        )
        s.add(recipient)
        await s.flush()
        ids = (spring.id, autumn.id, recipient.id, recipient.token)
    form = await _form(acme, campaign_id=ids[0])
    async with http(app, acme.host) as c:
        await c.post(
            f"/f/{form.key}",
            data={"full_name": f"By form {m}", "email": "a@x.example", "_ts": token(acme, form.key)},
        )
        await c.post(
            f"/f/{form.key}?c={ids[3]}",
            data={
                "full_name": f"By mail {m}",
                "email": "b@x.example",
                "_ts": token(acme, form.key),
                "c": ids[3],
            },
        )
        await c.post(
            f"/f/{form.key}",
            data={
                "full_name": f"By utm {m}",
                "email": "c@x.example",
                "_ts": token(acme, form.key),
                "utm_campaign": "spring-sale",
            },
        )
    [by_form], [by_mail], [by_utm] = [
        await _leads_named(acme, f"{k} {m}") for k in ("By form", "By mail", "By utm")
    ]
    assert (by_form.campaign_id, by_mail.campaign_id, by_utm.campaign_id) == (ids[0], ids[1], ids[0])
    assert by_utm.source_detail == f"{form.name} · spring-sale"
    async with in_tenant(acme.slug) as (s, _):
        assert (await s.get(CampaignRecipient, ids[2])).responded_at is not None


async def test_the_marketing_pages(app, acme):
    m = marker()
    async with signed_in(app, acme, "mia") as b:
        assert (await b.get("/marketing/forms")).status_code == 200
        before = await count_rows(acme, "crm_web_forms")
        bad = await b.post(
            "/marketing/forms", {"name": "", "redirect_url": "javascript:alert(1)", "active": "1"}
        )
        assert bad.status_code == 422
        assert "This field is required." in bad.text
        assert "Enter a full web address starting with https://." in bad.text
        assert await count_rows(acme, "crm_web_forms") == before
        r = await b.post(
            "/marketing/forms",
            {
                "name": f"Demo request {m}",
                "source": "web_form",
                "active": "1",
                "thank_you_message": "Thanks!",
            },
        )
        assert r.status_code == 303
        form_id = int(r.headers["location"].rsplit("/", 1)[1])
        page = await b.get(f"/marketing/forms/{form_id}")
        assert page.status_code == 200
        assert "&lt;iframe src=" in page.text
        assert "token.js" in page.text
        r = await b.post(f"/marketing/forms/{form_id}/active", {"active": ""})
        assert r.status_code == 303
    async with in_tenant(acme.slug) as (s, _):
        form = await s.get(WebForm, form_id)
        assert (form.name, form.active, form.thank_you_message) == (f"Demo request {m}", False, "Thanks!")
    async with signed_in(app, acme, "sam") as b:  # sales managers may look, not change
        assert (await b.get(f"/marketing/forms/{form_id}")).status_code == 200
        assert (await b.post(f"/marketing/forms/{form_id}", {"name": "Mine"})).status_code == 403
    async with signed_in(app, acme, "alice") as b:
        assert (await b.get("/marketing/forms")).status_code == 403


async def test_the_embed_script_fills_in_a_fresh_token(app, acme):
    form = await _form(acme)
    async with http(app, acme.host) as c:
        r = await c.get(f"/f/{form.key}/token.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert f'form[data-tessera-form=\\"{form.key}\\"]' in r.text
