"""``reconcile import``: adopt live resources we do not own (write missing specs, record them as ours)."""

from __future__ import annotations

from pathlib import Path

import click

from reconcile.cli.common import apply_lock, env_options, load_environment, make_console, open_environment
from reconcile.errors import UsageError


@click.command(name="import")
@click.argument("addresses", nargs=-1)
@env_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Spec file to write (default: specs/imported.yaml under the repo root); documents are appended.")
@click.option("--protect", is_flag=True, help="Write `protect: true` into the imported specs and the inventory.")
@click.option("--lock-timeout", type=float, default=0.0, metavar="SECONDS", help="Wait this long for another apply's lock.")
def import_(addresses: tuple[str, ...], config_path: Path | None, environment: str | None, out_path: Path | None,
            protect: bool, lock_timeout: float) -> None:
    """Adopt live resources vision-gitops does not own (ADDRESS..., default: all that `plan` lists as
    unmanaged or in conflict with a spec).

    Writes the specs of unmanaged ones and records all of them in the inventory; a
    following `apply` adds the ownership marker to adopted datasets (one PATCH each) and
    brings conflicting ones to their spec. Exit 0 done; 2 nothing to
    import, a bad address or --out; 1 error.
    """
    from reconcile.workflow import adopt_unmanaged

    config = load_environment(config_path, environment)
    target = out_path if out_path is not None else config.root / "specs" / "imported.yaml"
    if not target.is_absolute():
        target = Path.cwd() / target
    with open_environment(config) as session, apply_lock(config, None, lock_timeout):
        result = adopt_unmanaged(session, target, addresses, protect=protect)
    out = make_console()
    for note in result.notes:
        out.print(f"[yellow]note[/yellow]: {note}")
    if not result.records:
        raise UsageError("nothing to import: no unmanaged or conflicting live resources",
                         hint="`reconcile plan` lists them")
    for rec in result.records:
        out.print(f"imported {rec.address}")
    wrote = f"Wrote {len(result.docs)} spec(s) to {target}; " if result.docs else ""
    out.print(f"{wrote}run `reconcile plan` (adopted datasets get the ownership marker on the next apply).")
