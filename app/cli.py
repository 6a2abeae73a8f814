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
    tessera finance chart          a tenant's chart of accounts template (choose it before first use)

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
from typing import Any

import click
from litestar.cli._utils import LitestarGroup
from litestar.plugins import CLIPluginProtocol

from app.clisupport import fail as _fail
from app.clisupport import run_async as _run
from app.clisupport import services as _services
from app.settings import get_settings

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
                    "unknown_tenants": report.unknown_slugs,
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
    if report.unknown_slugs:
        click.echo(f"error: no such live tenant: {', '.join(report.unknown_slugs)}", err=True)
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


# --- demo, processes ----------------------------------------------------------------------


# --- finance ------------------------------------------------------------------------------


@click.group(name="finance", cls=LitestarGroup)
def finance_group() -> None:
    """Finance set-up (docs/finance.md)."""


@finance_group.command(name="chart")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option(
    "--template",
    type=click.Choice(["cas", "ifrs"]),
    default=None,
    help="Install this chart (企业会计准则 or IFRS-style). Only before the tenant first uses finance: "
    "the choice is kept. Without it, the tenant's chart is shown (the default for its language is "
    "installed if it has none yet).",
)
def finance_chart(slug: str, template: str | None) -> None:
    """Show or choose a tenant's chart of accounts."""
    _services()

    async def go() -> tuple[str | None, str]:
        from app.finance.services.setup import current_template, ensure_finance, install_chart
        from tenants.service import in_tenant

        async with in_tenant(slug) as (session, _ref):
            before = await current_template(session)
            chosen = await (install_chart(session, template) if template else ensure_finance(session))
            return before, chosen

    from app.kernel.errors import DomainError

    try:
        before, chosen = _run(go)
    except DomainError as exc:
        _fail(f"{slug}: {exc.english}")
        return
    if template and chosen != template:
        _fail(
            f"{slug} keeps its books on the {chosen} chart since its first use of finance; it cannot change."
        )
    click.echo(f"{slug}: {chosen}" + ("" if before else " (installed now)"))


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
        from tenants.cli import COMMANDS as PLATFORM_COMMANDS
        from workers.cli import COMMANDS as WORKER_COMMANDS

        cli.add_command(run_command, name="run")  # replaces Litestar's own `run` (now `tessera web`)
        cli.commands.pop("sessions", None)  # Litestar's store-backed sessions; ours live in app/security
        own = [
            web_command,
            migrate_command,
            db_group,
            finance_group,
            demo_command,
            worker_command,
            scheduler_command,
            relay_command,
        ]
        for cmd in [*own, *PLATFORM_COMMANDS, *WORKER_COMMANDS]:
            cli.add_command(cmd)


# Commands that need no web application: run without Litestar's CLI group, which imports the
# whole app (every context's portals and templates) to look for plugin commands first. For
# `tessera migrate` with nothing to do that import was most of the wait (bench/README.md, 2).
STANDALONE: dict[str, click.Command] = {"migrate": migrate_command, "finance": finance_group}


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in STANDALONE:
        STANDALONE[args[0]].main(args=args[1:], prog_name=f"tessera {args[0]}")
        return
    os.environ.setdefault("LITESTAR_APP", "app.main:create_app")
    from litestar.cli.main import litestar_group

    litestar_group(prog_name="tessera")
