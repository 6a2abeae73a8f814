"""Worker-related `tessera` commands (added to the CLI by app/cli.py)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
