"""CI pre-flight: obtain the Entra ID token an environment's service needs, right after ``azure/login``.

The workflows log in once with OIDC (``azure/login``); ``DefaultAzureCredential`` then
finds that login. Which token the reconciler asks for depends on the environment's
service: the Vision resource's scope (``https://cognitiveservices.azure.com/.default``)
or Azure Resource Manager's (``https://management.azure.com/.default``) for
``service: azureml``. Asking for it here, before validate/plan/apply, turns a
federated credential that cannot get that token into one clear failed step naming
the scope, instead of a failure in the middle of a plan. The token itself is never
printed.

Command line (used by .github/workflows)::

    python -m reconcile.ci.azure_token --env dev

Exit 0: the token was obtained, or the environment does not use Entra ID (nothing to
check). Exit 1: the config is wrong or no token could be obtained (message + hint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconcile.client.auth import DEFAULT_SCOPE, BearerAuth
from reconcile.errors import ReconcileError
from reconcile.specs.config import EnvironmentConfig, load_config


@dataclass(frozen=True)
class TokenCheck:
    """What the pre-flight found for one environment."""

    environment: str
    service: str
    scope: str | None
    """The scope a token was obtained for; None when the environment does not use Entra ID."""

    def describe(self) -> str:
        if self.scope is None:
            return f"environment {self.environment!r} ({self.service}) does not use Entra ID: no token to check"
        return f"environment {self.environment!r} ({self.service}): obtained an Entra ID token for {self.scope}"


def check_token(config: EnvironmentConfig, *, credential: Any | None = None) -> TokenCheck:
    """Obtain one token for ``config``'s scope through the same :class:`BearerAuth` the clients use.

    Raises :class:`reconcile.errors.AuthError` naming the scope when no token can be obtained.
    """
    if config.auth.kind != "entra":
        return TokenCheck(config.name, config.service, None)
    scope = config.auth.scope or DEFAULT_SCOPE
    BearerAuth(credential, scope).headers()
    return TokenCheck(config.name, config.service, scope)


@click.command()
@click.option("--env", "environment", required=True, help="Environment whose service's token to obtain.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Project config (default: vision-gitops.yaml in the current folder or a parent).")
def main(environment: str, config_path: Path | None) -> None:
    """Obtain the Entra ID token ENV's service needs (exit 1 with what to check if none)."""
    try:
        result = check_token(load_config(config_path, environment=environment))
    except ReconcileError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(result.describe())


if __name__ == "__main__":  # pragma: no cover - exercised through the workflows
    main()
