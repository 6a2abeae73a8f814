"""The signed-in user's own pages: start page, profile, notifications and the live badge."""

from __future__ import annotations

from sqlalchemy import select

from app.notifications.models import Notification, NotificationPreference
from app.notifications.service import notify
from app.security.models import User
from tenants.service import in_tenant
from tests.helpers import signed_in


async def test_home_lists_only_the_sections_the_user_may_use(app, acme):
    async with signed_in(app, acme, "ada") as admin:
        page = (await admin.get("/")).text
    async with signed_in(app, acme, "nora") as employee:
        plain = (await employee.get("/")).text
    assert "Notifications" in page
    assert "Notifications" in plain
    assert page.count('class="nav-section"') >= plain.count('class="nav-section"')


async def test_profile_saves_valid_changes_and_rejects_bad_ones(app, acme):
    async with signed_in(app, acme, "sam") as b:
        bad = await b.post("/profile", {"full_name": "", "locale": "xx", "timezone": "Mars/Olympus"})
        assert bad.status_code == 422
        assert "This field is required." in bad.text
        assert "Choose one of the supported languages." in bad.text
        assert "Choose a valid time zone." in bad.text
        async with in_tenant("acme") as (session, _):
            user = await session.get(User, acme.users["sam"])
            assert (user.full_name, user.timezone) == ("Sam Manager", None)
        ok = await b.post(
            "/profile", {"full_name": "Sam Manager", "locale": "en", "timezone": "Europe/Berlin"}
        )
        assert ok.status_code == 303
        async with in_tenant("acme") as (session, _):
            user = await session.get(User, acme.users["sam"])
            assert user.timezone == "Europe/Berlin"
            user.timezone = None


async def test_password_change_needs_the_current_password(app, acme):
    async with signed_in(app, acme, "bob") as b:
        r = await b.post(
            "/profile/password",
            {"current": "wrong one!", "new": "another passphrase", "confirm": "another passphrase"},
        )
        assert r.status_code == 422
        assert "The current password is not correct." in r.text


async def test_badge_counts_unread_and_marking_read_clears_it(app, acme):
    async with in_tenant("acme") as (session, _):
        for i in range(3):
            await notify(session, acme.users["alice"], "system.announcement", title=f"Badge {i}")
    async with signed_in(app, acme, "alice") as b:
        badge = await b.htmx("GET", "/notifications/badge")
        assert badge.status_code == 200
        assert '<span class="badge-count"' in badge.text
        assert "<html" not in badge.text  # a fragment, not a page
        listing = await b.get("/notifications")
        assert "Badge 2" in listing.text
        assert (await b.post("/notifications/read-all")).status_code == 303
        assert "badge-count" not in (await b.htmx("GET", "/notifications/badge")).text


async def test_marking_someone_elses_notification_is_not_found(app, acme):
    async with in_tenant("acme") as (session, _):
        note = await notify(session, acme.users["sam"], "system.announcement", title="For Sam only")
    async with signed_in(app, acme, "alice") as b:
        r = await b.post(f"/notifications/{note.id}/read")
        assert r.status_code == 404
    async with in_tenant("acme") as (session, _):
        assert (await session.get(Notification, note.id)).read_at is None


async def test_preferences_switch_channels_off(app, acme):
    async with signed_in(app, acme, "nora") as b:
        r = await b.post("/notifications/preferences", {"pref": ["security.role_changed:in_app"]})
        assert r.status_code == 303
    async with in_tenant("acme") as (session, _):
        prefs = {
            (p.kind, p.channel): p.enabled
            for p in (
                await session.execute(
                    select(NotificationPreference).where(NotificationPreference.user_id == acme.users["nora"])
                )
            ).scalars()
        }
        assert prefs[("system.announcement", "in_app")] is False
        assert prefs[("security.role_changed", "in_app")] is True
        assert await notify(session, acme.users["nora"], "system.announcement", title="Muted") is None


async def test_a_fragment_leaves_flash_messages_for_the_next_page(app, acme):
    async with signed_in(app, acme, "alice") as b:
        await b.post("/notifications/read-all")  # queues "All notifications are marked as read."
        badge = await b.htmx("GET", "/notifications/badge")
        assert "All notifications are marked as read." not in badge.text
        page = await b.get("/notifications")
        assert "All notifications are marked as read." in page.text


async def test_home_greets_by_name_and_shows_role_names(app, acme):
    async with signed_in(app, acme, "alice") as b:
        page = (await b.get("/")).text
    assert "Welcome, Alice Rep" in page
    assert '<span class="tag">Sales representative</span>' in page
