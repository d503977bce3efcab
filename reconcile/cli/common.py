"""What every ``reconcile`` command shares: the ``--config``/``--env`` options, loading the
environment, opening its session and apply lock, and the console output goes to.

Heavy modules (rich, the session's HTTP client, the lock's Azure SDK) are imported
inside the functions, so importing this module keeps ``reconcile --help`` fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from reconcile.lock import HeldLock
    from reconcile.plan.model import Plan
    from reconcile.session import Session
    from reconcile.specs.config import EnvironmentConfig

__all__ = ["apply_lock", "env_options", "load_environment", "make_console", "open_environment"]

F = TypeVar("F", bound=Callable[..., Any])


def make_console(stderr: bool = False) -> Console:
    """A rich console; outside a terminal (logs, CI) wide enough that tables do not truncate names."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, soft_wrap=True, width=140)
    return console


def env_options(f: F) -> F:
    """Add ``--config FILE`` and ``--env NAME`` (passed as ``config_path`` and ``environment``)."""
    f = click.option("--env", "environment", metavar="NAME", help="Environment from vision-gitops.yaml "
                     "(default: $VISION_GITOPS_ENV, then the file's defaultEnvironment).")(f)
    f = click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Project config file (default: vision-gitops.yaml in this folder or a parent).")(f)
    return f


def load_environment(config_path: Path | None, environment: str | None) -> EnvironmentConfig:
    """The environment the options name (:func:`reconcile.specs.config.load_config`; raises ConfigError)."""
    from reconcile.specs.config import load_config

    return load_config(config_path, environment=environment)


def open_environment(config: EnvironmentConfig) -> Session:
    """The session (backend, client, embedded emulator) of ``config``; close it when done."""
    from reconcile.session import open_session

    return open_session(config)


def apply_lock(config: EnvironmentConfig, plan: Plan | None, timeout: float) -> HeldLock[Any]:
    """Take the environment's apply lock (:mod:`reconcile.lock`), held while apply writes.

    The lock records the live fingerprint of ``plan`` (a saved plan) so a second run can tell what is applied.
    """
    from reconcile.lock import LockInfo, lock_for

    info = LockInfo.for_current_run(config.name, fingerprint=plan.live_fingerprint if plan is not None else "")
    return lock_for(config).acquire(info, timeout=timeout)
