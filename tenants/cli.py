"""`tessera tenants|users|api-clients|operators` — the platform's administration commands."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from litestar.cli._utils import LitestarGroup

from app.clisupport import fail as _fail
from app.clisupport import run_async as _run
from app.clisupport import services as _services
from app.settings import get_settings

T = TypeVar("T")


# --- tenants ------------------------------------------------------------------------------


@click.group(name="tenants", cls=LitestarGroup)
def tenants_group() -> None:
    """Create and manage tenants."""


@tenants_group.command(name="create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-password", default=None, help="Omit to get a set-password link instead.")
@click.option("--admin-name", default=None)
@click.option("--locale", default="en", type=click.Choice(["en", "zh_Hans", "zh_Hant"]))
@click.option("--timezone", default="Asia/Shanghai")
@click.option("--currency", default="CNY")
@click.option("--edition", default="enterprise", type=click.Choice(["enterprise", "hospital"]))
@click.option(
    "--chart",
    default=None,
    type=click.Choice(["cas", "ifrs"]),
    help="Chart of accounts: cas (企业会计准则) or ifrs. Default: cas for a Chinese locale, else ifrs.",
)
def tenants_create(
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str | None,
    admin_name: str | None,
    locale: str,
    timezone: str,
    currency: str,
    edition: str,
    chart: str | None,
) -> None:
    """Provision a tenant: schema, roles, first administrator."""
    _services()
    from app.kernel.db import get_database
    from app.kernel.errors import DomainError
    from tenants.provisioning import ProvisionRequest, provision_tenant

    async def go() -> Any:
        return await provision_tenant(
            get_database().engine,
            ProvisionRequest(
                slug=slug,
                name=name,
                admin_email=admin_email,
                admin_password=admin_password,
                admin_name=admin_name,
                locale=locale,
                timezone=timezone,
                currency=currency,
                edition=edition,
                chart=chart,
            ),
        )

    try:
        result = _run(go)
    except DomainError as exc:
        _fail(
            f"error: {exc.english}"
            + "".join(f"\n  {e.field}: {e.message.format(**e.params)}" for e in exc.errors)
        )
        return
    s = get_settings()
    click.echo(f"tenant {result.slug} created ({result.tables} tables, {result.elapsed_ms:.0f} ms)")
    click.echo(f"  portal: {s.tenant_origin(result.slug)}/")
    if result.set_password_token:
        click.echo(
            f"  set the admin password: {s.tenant_origin(result.slug)}/password/reset?token="
            f"{result.set_password_token}"
        )


@tenants_group.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def tenants_list(as_json: bool) -> None:
    """List tenants with status and schema revision."""
    _services()
    from tenants.service import list_tenants

    rows = _run(list_tenants)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "slug": t.slug,
                        "name": t.name,
                        "status": t.status,
                        "schema": t.schema_name,
                        "revision": t.schema_revision,
                        "created_at": t.created_at.isoformat(),
                    }
                    for t in rows
                ],
                indent=2,
            )
        )
        return
    for t in rows:
        click.echo(f"{t.slug:<24} {t.status:<10} {t.schema_revision or '-':<10} {t.name}")


def _lifecycle(action: str, slug: str, **kw: Any) -> None:
    _services()
    from app.kernel.errors import DomainError
    from tenants import service

    fn = getattr(service, f"{action}_tenant")
    try:
        tenant = _run(lambda: fn(slug, **kw))
    except DomainError as exc:
        _fail(f"error: {exc.english}")
        return
    click.echo(f"tenant {tenant.slug}: {tenant.status}")


@tenants_group.command(name="suspend")
@click.argument("slug")
@click.option("--reason", default="")
def tenants_suspend(slug: str, reason: str) -> None:
    """Block log-in and API access (data kept)."""
    _lifecycle("suspend", slug, reason=reason)


@tenants_group.command(name="resume")
@click.argument("slug")
def tenants_resume(slug: str) -> None:
    """Lift a suspension (or undo a soft delete within the grace period)."""
    _lifecycle("resume", slug)


@tenants_group.command(name="delete")
@click.argument("slug")
@click.option("--purge-now", is_flag=True, help="Skip the grace period and drop the schema at once.")
@click.confirmation_option(prompt="Delete this tenant? Its users lose access at once.")
def tenants_delete(slug: str, purge_now: bool) -> None:
    """Soft-delete (purged after the grace period); --purge-now drops the schema."""
    _lifecycle("delete", slug)
    if purge_now:
        _lifecycle("purge", slug, force=True)


@tenants_group.command(name="purge")
@click.option("--all-due", is_flag=True, help="Purge every deleted tenant whose grace period is over.")
@click.argument("slug", required=False)
def tenants_purge(all_due: bool, slug: str | None) -> None:
    """Drop the schema of soft-deleted tenant(s) whose grace period is over."""
    if all_due:
        _services()
        from tenants.service import purge_due_tenants

        purged = _run(purge_due_tenants)
        click.echo(f"purged {len(purged)} tenant(s): {', '.join(purged) or '-'}")
    elif slug:
        _lifecycle("purge", slug)
    else:
        _fail("give a SLUG or --all-due")


@tenants_group.command(name="export")
@click.argument("slug")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Default: var/exports/<slug>-<timestamp>.tar.gz",
)
def tenants_export(slug: str, output: str | None) -> None:
    """Write a restorable dump of one tenant (schema + its shared-schema rows)."""
    _services()
    from app.kernel.errors import DomainError
    from tenants.export import export_tenant

    try:
        path = _run(lambda: export_tenant(slug, output))
    except DomainError as exc:
        _fail(f"error: {exc.english}")
        return
    click.echo(f"exported {slug} to {path}")


@tenants_group.command(name="restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--as-slug", default=None, help="Restore under another slug (e.g. to inspect a copy).")
def tenants_restore(archive: str, as_slug: str | None) -> None:
    """Restore a tenant from an export archive."""
    _services()
    from app.kernel.errors import DomainError
    from tenants.export import restore_tenant

    try:
        done = _run(lambda: restore_tenant(archive, as_slug))
    except DomainError as exc:
        _fail(
            f"error: {exc.english}"
            + "".join(f"\n  {e.field}: {e.message.format(**e.params)}" for e in exc.errors)
        )
        return
    click.echo(
        f"restored tenant {done.slug} at {done.revision} (archive at {done.from_revision}), "
        f"{sum(done.rows.values())} rows in {len(done.rows)} tables"
    )
    for table, skipped in done.shared_skipped.items():
        if skipped:
            click.echo(f"  skipped {skipped} {table} row(s) in use by another tenant")


@tenants_group.group(name="domains", cls=LitestarGroup)
def tenants_domains() -> None:
    """Custom domains: a domain routes to its tenant once verified. Tessera does not query DNS:
    check the TXT record yourself before `verify`."""


def _domain_action(slug: str, action: Callable[[Any, Any], Awaitable[T]]) -> T | None:
    _services()
    from app.kernel import context
    from app.kernel.context import Actor
    from app.kernel.db import get_database, unit_of_work
    from app.kernel.errors import DomainError
    from tenants.service import get_tenant

    async def go() -> T:
        with context.bound(actor=Actor.system("cli")):
            async with unit_of_work(get_database().shared_session()) as s:
                return await action(s, await get_tenant(s, slug))

    try:
        return _run(go)
    except DomainError as exc:
        _fail(
            f"error: {exc.english}"
            + "".join(f"\n  {e.field}: {e.message.format(**e.params)}" for e in exc.errors)
        )
        return None


@tenants_domains.command(name="list")
@click.argument("slug")
def tenants_domains_list(slug: str) -> None:
    """List a tenant's domains with their TXT records."""
    from tenants import domains

    for d in _domain_action(slug, lambda s, t: domains.list_domains(s, t.id)) or []:
        state = "verified" if d.verified_at else "waiting for DNS"
        click.echo(
            f'{d.domain:<40} {state:<16} TXT {domains.txt_record_name(d)} "{domains.txt_record_value(d)}"'
        )


@tenants_domains.command(name="add")
@click.argument("slug")
@click.argument("domain")
def tenants_domains_add(slug: str, domain: str) -> None:
    """Add an unverified domain and print the TXT record to publish."""
    from tenants import domains

    row = _domain_action(slug, lambda s, t: domains.add_domain(s, t, domain))
    if row is not None:
        click.echo(f"domain {row.domain} added to {slug}; publish this DNS record, then run `verify`:")
        click.echo(f'  {domains.txt_record_name(row)}  TXT  "{domains.txt_record_value(row)}"')


@tenants_domains.command(name="verify")
@click.argument("slug")
@click.argument("domain")
def tenants_domains_verify(slug: str, domain: str) -> None:
    """Mark a domain verified (you have checked its TXT record): it routes to the tenant."""
    from tenants import domains

    async def verify(s: Any, t: Any) -> Any:
        return await domains.mark_verified(s, t, (await domains.find_domain(s, t, domain)).id)

    if _domain_action(slug, verify) is not None:
        click.echo(f"domain {domain} verified for {slug}")


@tenants_domains.command(name="remove")
@click.argument("slug")
@click.argument("domain")
def tenants_domains_remove(slug: str, domain: str) -> None:
    """Remove a domain (it stops routing at once)."""
    from tenants import domains

    async def remove(s: Any, t: Any) -> str:
        return await domains.remove_domain(s, t, (await domains.find_domain(s, t, domain)).id)

    if _domain_action(slug, remove) is not None:
        click.echo(f"domain {domain} removed from {slug}")


# --- users, API clients, operators --------------------------------------------------------


@click.group(name="users", cls=LitestarGroup)
def users_group() -> None:
    """Manage tenant users."""


@users_group.command(name="create")
@click.option("--tenant", "slug", required=True)
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--password", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Role key, repeatable (e.g. sales_rep).")
def users_create(slug: str, email: str, full_name: str, password: str, roles: tuple[str, ...]) -> None:
    """Create an active user with a password and roles."""
    _services()
    from app.kernel.errors import DomainError
    from tenants.service import create_user_in_tenant

    try:
        user_id = _run(
            lambda: create_user_in_tenant(
                slug, email=email, full_name=full_name, password=password, role_keys=list(roles)
            )
        )
    except DomainError as exc:
        _fail(
            f"error: {exc.english}"
            + "".join(f"\n  {e.field}: {e.message.format(**e.params)}" for e in exc.errors)
        )
        return
    click.echo(f"user {email} created (id {user_id}) in {slug}")


@click.group(name="api-clients", cls=LitestarGroup)
def api_clients_group() -> None:
    """Manage OAuth2 API clients."""


@api_clients_group.command(name="create")
@click.option("--tenant", "slug", required=True)
@click.option("--name", default="CLI client")
@click.option("--scopes", "scopes", multiple=True, help="Permission names; repeatable or space-separated.")
@click.option(
    "--user",
    "acting_user",
    default=None,
    help="E-mail of a user the client acts for: the API then applies that user's record rules.",
)
@click.option("--json", "as_json", is_flag=True)
def api_clients_create(
    slug: str, name: str, scopes: tuple[str, ...], acting_user: str | None, as_json: bool
) -> None:
    """Issue a client-credentials client; prints its id and secret (shown once)."""
    _services()
    from app.kernel.errors import DomainError
    from tenants.service import create_api_client

    scope_list = [s for chunk in scopes for s in chunk.replace(",", " ").split()]
    try:
        issued = _run(lambda: create_api_client(slug, name=name, scopes=scope_list, acting_user=acting_user))
    except DomainError as exc:
        _fail(
            f"error: {exc.english}"
            + "".join(f"\n  {e.field}: {e.message.format(**e.params)}" for e in exc.errors)
        )
        return
    s = get_settings()
    data = {
        "client_id": issued.client.client_id,
        "client_secret": issued.client_secret,
        "scopes": issued.client.scopes,
        "token_url": f"{s.platform_origin}/oauth/token",
        "tenant": slug,
    }
    if as_json:
        click.echo(json.dumps(data))
    else:
        for k, v in data.items():
            click.echo(f"{k}: {' '.join(v) if isinstance(v, list) else v}")


@click.group(name="operators", cls=LitestarGroup)
def operators_group() -> None:
    """Manage platform operators."""


@operators_group.command(name="create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--password", required=True)
def operators_create(email: str, full_name: str, password: str) -> None:
    """Create a platform operator for the operator console."""
    _services()
    from app.kernel.errors import DomainError
    from tenants.operators import create_operator

    try:
        _run(lambda: create_operator(email=email, full_name=full_name, password=password))
    except DomainError as exc:
        _fail(f"error: {exc.english}")
        return
    click.echo(f"operator {email} created")


COMMANDS = [tenants_group, users_group, api_clients_group, operators_group]
