"""The ``reconcile`` command line.

Sub-commands live in sibling modules and are imported only when invoked, so
``reconcile --help`` stays fast (nothing from Azure, Pulumi, numpy or the emulator
is imported on that path). Each module exposes one ``click`` command or group
named in :data:`COMMANDS`.

Exit codes (documented in the README):

- 0  success / no changes
- 1  error (message on stderr, never a traceback)
- 2  changes present (``plan``) or usage error
- 3  apply finished its writes but left training running (``apply`` without ``--wait``)
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from reconcile import __version__
from reconcile.errors import ReconcileError

#: command name -> (module, attribute, one-line help shown by ``--help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("reconcile.cli.core", "validate", "Validate specs, config and label files."),
    "plan": ("reconcile.cli.core", "plan", "Compute what apply would change (exit 0 none, 2 changes, 1 error)."),
    "apply": ("reconcile.cli.core", "apply", "Apply a saved plan, or plan and apply."),
    "wait": ("reconcile.cli.core", "wait", "Follow training and evaluations until they finish."),
    "status": ("reconcile.cli.core", "status", "Show live datasets, models and evaluations."),
    "predict": ("reconcile.cli.core", "predict", "Run a trained custom model on an image."),
    "schema": ("reconcile.cli.core", "schema", "Write the JSON Schemas of specs and config."),
    "demo": ("reconcile.cli.core", "demo", "Run validate -> plan -> apply -> status on the embedded emulator."),
    "coco": ("reconcile.cli.coco", "coco", "COCO label files: validate."),
    "lock": ("reconcile.cli.lock", "lock", "Show or break the apply lock."),
    "emulator": ("reconcile.cli.emulator", "emulator", "Run the local emulator of the Vision API."),
    "import": ("reconcile.cli.adopt", "import_", "Adopt unmanaged live resources: write their specs, record them as owned."),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n, (mod, _a, _h) in COMMANDS.items() if _module_exists(mod))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _module_exists(entry[0]):
            return None
        if ctx.resilient_parsing or "--help" in sys.argv[1:2]:
            # Listing for help: a light stand-in keeps start-up fast.
            return click.Command(cmd_name, help=entry[2], short_help=entry[2])
        module = importlib.import_module(entry[0])
        return getattr(module, entry[1])


def _module_exists(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconcile")
def cli() -> None:
    """Declarative, git-reviewed custom image models on Azure AI Vision.

    Specs under specs/ are the desired state; `plan` shows what differs from the
    live service and `apply` writes only that.
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every error into a message and an exit code."""
    from reconcile.client.redact import install_everywhere

    install_everywhere()  # every log line this process prints is masked, whatever logged it
    try:
        # Without standalone mode click returns (not raises) the code of an Exit.
        code = cli.main(args=argv, prog_name="reconcile", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except ReconcileError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("RECONCILE_DEBUG"):
            raise
        from reconcile.client.redact import redact

        click.echo(
            f"internal error: {type(exc).__name__}: {redact(str(exc))}\n"
            "  hint: this is a bug in vision-gitops; run again with RECONCILE_DEBUG=1 for a traceback and report it",
            err=True,
        )
        sys.exit(1)
