"""Worker-related `tessera` commands (added to the CLI by app/cli.py).

tessera dead-letters list [--json]          messages that exhausted their retries
tessera dead-letters retry ID... | --all    put them back on their queue (after a fix)
"""

from __future__ import annotations

import json

import click


def _services() -> None:
    from app.embedded import ensure_services

    ensure_services()


@click.group(name="dead-letters")
def dead_letters_group() -> None:
    """Inspect and re-enqueue messages that exhausted their retries."""


@dead_letters_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dead letter.")
def dead_letters_list(as_json: bool) -> None:
    """List dead letters, oldest first."""
    _services()
    from workers.deadletters import list_dead_letters

    letters = list_dead_letters()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": d.key,
                        "message_id": d.message.message_id,
                        "queue": d.queue,
                        "actor": d.message.actor_name,
                        "handler": d.handler,
                        "tenant_id": d.tenant_id,
                        "retries": d.retries,
                        "error": d.error,
                        "failed_at": d.failed_at.isoformat(),
                        "kwargs": d.message.kwargs,
                    }
                    for d in letters
                ],
                indent=2,
                default=str,
            )
        )
        return
    for d in letters:
        tenant = "-" if d.tenant_id is None else d.tenant_id
        click.echo(
            f"{d.key}  {d.failed_at:%Y-%m-%d %H:%M:%S}  {d.queue:<7} {d.handler}  tenant {tenant}  "
            f"retries {d.retries}  {d.error}"
        )
    click.echo(f"{len(letters)} dead letter(s)")


@dead_letters_group.command(name="retry")
@click.argument("idents", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Re-enqueue every dead letter.")
def dead_letters_retry(idents: tuple[str, ...], retry_all: bool) -> None:
    """Re-enqueue dead letters by id (as `list` shows it) or message id."""
    if not idents and not retry_all:
        raise click.UsageError("give dead-letter ids or --all")
    _services()
    from workers.deadletters import retry_dead_letters

    retried = retry_dead_letters(None if retry_all else idents)
    for d in retried:
        click.echo(f"re-enqueued {d.key} ({d.handler}) on {d.queue}")
    missing = [i for i in idents if not any(d.matches(i) for d in retried)]
    for ident in missing:
        click.secho(f"not found: {ident}", fg="yellow", err=True)
    click.echo(f"{len(retried)} dead letter(s) re-enqueued")
    if missing:
        raise SystemExit(1)


COMMANDS: list[click.Command] = [dead_letters_group]
