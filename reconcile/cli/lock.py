"""``reconcile lock show`` / ``reconcile lock break``: inspect or free an environment's apply lock."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from reconcile.cli.common import env_options, load_environment


@click.group()
def lock() -> None:
    """Show or break the apply lock (one apply per environment at a time)."""


@lock.command()
@env_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {environment, locked, lock, holder}.")
def show(config_path: Path | None, environment: str | None, as_json: bool) -> None:
    """Show who holds the apply lock of an environment. Exits 0 whether or not it is held."""
    from reconcile.lock import lock_for

    config = load_environment(config_path, environment)
    the_lock = lock_for(config)
    holder = the_lock.current()
    if as_json:
        click.echo(json.dumps({
            "environment": config.name,
            "locked": holder is not None,
            "lock": the_lock.where(),
            "holder": holder.to_dict() if holder is not None else None,
        }, indent=2))
        return
    if holder is None:
        click.echo(f"environment '{config.name}': not locked ({the_lock.where()})")
    else:
        click.echo(f"environment '{config.name}': locked by {holder.describe(now=datetime.now(timezone.utc))}")
        click.echo(f"  lock: {the_lock.where()}")


@lock.command(name="break")
@env_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def break_(config_path: Path | None, environment: str | None, yes: bool) -> None:
    """Free the apply lock of an environment whose holder is dead (a cancelled or crashed run).

    A live holder notices at its next renewal and stops writing; only break a lock
    whose run you know has ended. Exits 0 also when the lock was already free.
    """
    from reconcile.lock import lock_for

    config = load_environment(config_path, environment)
    the_lock = lock_for(config)
    holder = the_lock.current()
    if holder is None:
        click.echo(f"environment '{config.name}': not locked; nothing to break")
        return
    if not yes:
        click.confirm(
            f"Break the apply lock of '{config.name}' held by {holder.describe(now=datetime.now(timezone.utc))}?\n"
            "Only do this if that run is no longer running.",
            abort=True,
        )
    broken = the_lock.break_lock()
    if broken is None:
        click.echo(f"environment '{config.name}': the lock was released meanwhile; nothing to break")
    else:
        click.echo(f"environment '{config.name}': broke the lock held by {broken.describe()}")
