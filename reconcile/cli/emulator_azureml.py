"""``reconcile emulator serve --service azureml``: run the Azure ML emulator from the command line.

Kept apart from :mod:`reconcile.cli.emulator` (the shared ``serve`` command only
dispatches here) so that the Vision emulator's options stay as they are. Nothing
heavy is imported until the server starts.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconcile.errors import UsageError

#: Azurite's documented development account; its key is public by design.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def serve_azureml(*, host: str, port: int, state_dir: Path | None, token: str | None, speed: float,
                  faults: object, blob_endpoint: str | None, tls: bool, trainer_name: str = "pixels") -> None:
    """Serve the Azure ML emulator until interrupted; blob data goes to ``blob_endpoint`` (Azurite)."""
    if trainer_name != "pixels":
        raise UsageError(f"--trainer {trainer_name} is the Vision emulator's; AutoML jobs of the azureml emulator "
                         "always learn from the pixels (reconcile.learn)")
    from reconcile.emulator.azureml.datastore import BlobConfig
    from reconcile.emulator.azureml.server import AzureMLEmulatorServer
    from reconcile.emulator.azureml.tls import make_certificate

    if getattr(faults, "tps_limit", None) is not None:
        raise UsageError("--tps-limit is the Vision gateway's limit; the azureml emulator throttles with ARM's "
                         "token buckets (reads 250 +25/s, writes 200 +10/s, deletes 200 +10/s)")
    blob = None
    if blob_endpoint:
        account = blob_endpoint.rstrip("/").rsplit("/", 1)[-1] or AZURITE_ACCOUNT
        blob = BlobConfig(endpoint=blob_endpoint.rstrip("/"), account=account, key=AZURITE_KEY)
    cert = None
    if tls:
        cert = make_certificate((state_dir or Path.cwd() / ".azureml-emulator") / "tls", hosts=(host, "localhost"))
    try:
        server = AzureMLEmulatorServer(blob=blob, token=token, state_dir=state_dir, speed=speed, faults=faults,
                                       tls=cert or False, host=host, port=port)  # type: ignore[arg-type]
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} or reach blob storage: {exc.strerror or exc}") from None

    def ready() -> None:
        click.echo(
            f"azureml emulator listening on {server.endpoint} (workspace {server.workspace.scope}; "
            f"auth: {'bearer token' if token else 'any bearer token'}; blob: {blob.endpoint if blob else 'none'}; "
            f"state: {state_dir or 'memory'}; speed: {speed:g}x)",
            err=True,
        )
        if cert is not None:
            click.echo(f"TLS certificate: {cert.cert} (trust it: export REQUESTS_CA_BUNDLE={cert.cert}; "
                       f"azure-ai-ml: export AZUREML_DEV_URL_MFE={server.endpoint})", err=True)

    server.serve_forever(on_ready=ready)
