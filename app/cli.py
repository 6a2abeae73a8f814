"""The ``tessera`` command: Litestar's CLI group with Tessera's commands added.

    tessera run [--port 8000]      web + worker + scheduler + outbox relay (+ embedded DB/Redis/mail)
    tessera migrate                shared schema and every tenant to head
    tessera demo                   the demo tenant `acme` with one user per role (idempotent)
    tessera tenants create|list|suspend|resume|delete|purge|export|restore|domains
    tessera users create           a user in a tenant
    tessera api-clients create     an OAuth2 client for a tenant (prints id and secret)
    tessera operators create       a platform operator (console on the bare base domain)
    tessera worker | scheduler | relay | web
    tessera db check               `alembic check` on both tracks (no model drift)

With DATABASE_URL / REDIS_URL unset, commands start (or reuse) embedded servers under ./var.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from litestar.cli._utils import LitestarGroup
from litestar.plugins import CLIPluginProtocol

from app.settings import get_settings

T = TypeVar("T")


def _services() -> None:
    from app.embedded import ensure_services

    ensure_services()


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def _wrapped() -> T:
        from app.kernel.db import close_database
        from app.kernel.redis import close_redis

        try:
            return await coro_fn()
        finally:
            await close_database()
            await close_redis()

    return asyncio.run(_wrapped())


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


# --- migrate / db -------------------------------------------------------------------------


@click.command(name="migrate")
@click.option("--tenant", "slugs", multiple=True, help="Only these tenants (slug); default all.")
@click.option("--parallel", type=int, default=None, help="Worker processes (default MIGRATE_PARALLELISM).")
@click.option("--lock-timeout", default="5s", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the per-tenant report as JSON.")
def migrate_command(slugs: tuple[str, ...], parallel: int | None, lock_timeout: str, as_json: bool) -> None:
    """Bring the shared schema and every tenant schema to head (safe to re-run)."""
    _services()
    from tenants.migrations import migrate_all

    report = migrate_all(parallelism=parallel, slugs=slugs or None, lock_timeout=lock_timeout)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_id": report.run_id,
                    "shared_revision": report.shared_revision,
                    "tenant_head": report.tenant_head,
                    "elapsed_s": round(report.elapsed_s, 3),
                    "results": [r.__dict__ for r in report.results],
                },
                indent=2,
            )
        )
    else:
        click.echo(f"shared schema at {report.shared_revision}; tenant head {report.tenant_head}")
        for r in report.results:
            mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
            click.echo(
                f"  {mark} {r.slug:<24} {r.from_revision or '-'} → {r.to_revision or '-'}  "
                f"{r.duration_ms} ms{'  ' + (r.error or '') if not r.ok else ''}"
            )
        click.echo(
            f"{len(report.results)} tenant(s) migrated, {len(report.failed)} failed, {report.elapsed_s:.2f} s"
        )
    if not report.ok:
        sys.exit(1)


@click.group(name="db", cls=LitestarGroup)
def db_group() -> None:
    """Database checks."""


@db_group.command(name="check")
def db_check() -> None:
    """`alembic check` on both tracks: the models and the migrations agree."""
    _services()
    from alembic import command

    from tenants.migrations import alembic_config

    command.upgrade(alembic_config("shared"), "head")
    command.check(alembic_config("shared"))
    command.upgrade(alembic_config("tenant"), "head")  # the template schema, never a real tenant
    command.check(alembic_config("tenant"))
    click.echo("no model drift on either track")


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
@click.option("--json", "as_json", is_flag=True)
def api_clients_create(slug: str, name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Issue a client-credentials client; prints its id and secret (shown once)."""
    _services()
    from app.kernel.errors import DomainError
    from tenants.service import create_api_client

    scope_list = [s for chunk in scopes for s in chunk.replace(",", " ").split()]
    try:
        issued = _run(lambda: create_api_client(slug, name=name, scopes=scope_list))
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


# --- demo, processes ----------------------------------------------------------------------


@click.command(name="demo")
def demo_command() -> None:
    """Create (or refresh) the demo tenant `acme` with one user per built-in role."""
    _services()
    from tenants.migrations import migrate_all

    migrate_all()
    from tenants.demo import DEMO_PASSWORD, ensure_demo

    logins = _run(ensure_demo)
    _print_logins(logins, DEMO_PASSWORD)


def _print_logins(logins: list[tuple[str, str]], password: str) -> None:
    s = get_settings()
    click.echo(f"\nDemo tenant: {s.tenant_origin('acme')}/   (password for every demo user: {password})")
    for role, email in logins:
        click.echo(f"  {role:<20} {email}")
    click.echo(f"Operator console: {s.platform_origin}/operator   (ops@tessera.example / {password})")


@click.command(name="worker")
@click.option("--processes", default=1, show_default=True)
@click.option("--threads", default=4, show_default=True)
def worker_command(processes: int, threads: int) -> None:
    """Run Dramatiq workers for every queue."""
    _services()
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "dramatiq",
            "workers.actors",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
        ],
    )


@click.command(name="scheduler")
def scheduler_command() -> None:
    """Run the periodic-job scheduler (safe to run twice: one leader at a time)."""
    _services()
    from workers.scheduler import run_scheduler

    asyncio.run(run_scheduler())


@click.command(name="relay")
def relay_command() -> None:
    """Relay committed outbox events to the workers (LISTEN/NOTIFY + SKIP LOCKED)."""
    _services()
    from workers.relay import run_relay

    asyncio.run(run_relay())


@click.command(name="web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True)
def web_command(host: str, port: int, workers: int) -> None:
    """Run only the web server (uvicorn)."""
    _services()
    os.environ.setdefault("PUBLIC_PORT", str(port))
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--proxy-headers",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ],
    )


@click.command(name="run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--no-demo", is_flag=True, help="Do not create the demo tenant.")
def run_command(host: str, port: int, no_demo: bool) -> None:
    """Everything: migrations, demo tenant, web, worker, scheduler and outbox relay."""
    os.environ["PUBLIC_PORT"] = str(port)
    from app.settings import reset_settings

    reset_settings()
    _services()
    if not os.environ.get("SMTP_HOST"):
        from app.devmail import start_mail_sink

        smtp_port = start_mail_sink(get_settings().data_dir / "mail")
        os.environ.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port))
        reset_settings()
    from tenants.migrations import migrate_all

    report = migrate_all()
    if not report.ok:
        _fail(f"migrations failed for: {', '.join(r.slug for r in report.failed)}")
    logins: list[tuple[str, str]] = []
    if not no_demo:
        from tenants.demo import DEMO_PASSWORD, ensure_demo

        logins = _run(ensure_demo)
    exe = os.path.join(os.path.dirname(sys.executable), "tessera")
    children = {
        "web": [exe, "web", "--host", host, "--port", str(port)],
        "worker": [exe, "worker"],
        "scheduler": [exe, "scheduler"],
        "relay": [exe, "relay"],
    }
    procs = {name: subprocess.Popen(cmd, env=os.environ.copy()) for name, cmd in children.items()}
    time.sleep(1.0)
    s = get_settings()
    click.secho(f"\nTessera is running: web {s.origin_for_host(host)}, worker, scheduler, relay", fg="green")
    if logins:
        _print_logins(logins, DEMO_PASSWORD)
    click.echo(
        f"Mail sent by Tessera is kept in {s.data_dir / 'mail'} (and printed here). Ctrl-C stops everything."
    )
    stopping = False

    def _stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            for name, p in procs.items():
                if p.poll() is not None:
                    click.secho(f"{name} exited with {p.returncode}; stopping", fg="red", err=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


class TesseraCLIPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        cli.add_command(run_command, name="run")  # replaces Litestar's own `run` (now `tessera web`)
        for cmd in (
            web_command,
            migrate_command,
            db_group,
            demo_command,
            tenants_group,
            users_group,
            api_clients_group,
            operators_group,
            worker_command,
            scheduler_command,
            relay_command,
        ):
            cli.add_command(cmd)
        from workers.cli import COMMANDS as WORKER_COMMANDS

        for cmd in WORKER_COMMANDS:
            cli.add_command(cmd)


def main() -> None:
    os.environ.setdefault("LITESTAR_APP", "app.main:create_app")
    from litestar.cli.main import litestar_group

    litestar_group(prog_name="tessera")
