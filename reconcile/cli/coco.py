"""``reconcile coco``: work with COCO label files (validate).

Exit codes: 0 valid (warnings allowed), 1 invalid or unreadable, 2 usage error.
"""

from __future__ import annotations

import json
import sys

import click

from reconcile.api import versions
from reconcile.errors import CocoError


@click.group("coco")
def coco() -> None:
    """COCO label files in Azure's flavour (relative boxes, blob URLs)."""


@coco.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--kind", required=True, type=click.Choice(list(versions.ANNOTATION_KINDS)), help="Dataset annotation kind.")
@click.option("--purpose", default="train", show_default=True, type=click.Choice(["train", "eval"]))
@click.option(
    "--api-version",
    default=versions.DEFAULT_API_VERSION,
    show_default=True,
    type=click.Choice(list(versions.API_VERSION_NAMES)),
)
@click.option("--storage-prefix", default=None, help="Every image URL must start with this, e.g. https://acct.blob.core.windows.net/images/.")
@click.option(
    "--allow-scheme",
    "schemes",
    multiple=True,
    default=("https",),
    show_default=True,
    help="URI scheme allowed for image URLs (repeat for several; emulators use http and file).",
)
@click.option("--no-urls-yet", is_flag=True, help="Accept images without absolute_url (a local file before upload).")
@click.option("--inline", is_flag=True, help="Check the limits of inline annotationData (2023-07-01-preview).")
@click.option("--max-examples", default=5, show_default=True, type=click.IntRange(0, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate(
    file: str,
    kind: str,
    purpose: str,
    api_version: str,
    storage_prefix: str | None,
    schemes: tuple[str, ...],
    no_urls_yet: bool,
    inline: bool,
    max_examples: int,
    as_json: bool,
) -> None:
    """Validate FILE (a COCO JSON file, or - for stdin) and report every problem."""
    from reconcile.coco.validate import ValidationOptions, validate_bytes, validate_file

    options = ValidationOptions(
        kind=kind,
        purpose=purpose,
        api_version=api_version,
        storage_prefix=storage_prefix,
        allowed_schemes=frozenset(schemes),
        max_examples=max_examples,
        require_urls=not no_urls_yet,
        inline=inline,
    )
    if file == "-":
        report = validate_bytes(sys.stdin.buffer.read(), options, source="<stdin>")
    else:
        report = validate_file(file, options)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        from rich.console import Console

        from reconcile.coco.render import render_report

        Console(highlight=False, soft_wrap=False).print(render_report(report))
    if not report.valid:
        n = sum(p.count for p in report.errors)
        raise CocoError(f"{report.source}: invalid COCO file for {kind} {purpose} ({n} error(s), listed above)")
