"""``reconcile emulator``: run the local emulator of the Vision model-customization API.

Only click is imported at module load; the server (starlette, uvicorn) is imported
when ``serve`` runs, so ``reconcile --help`` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from reconcile.emulator.trainer import DEFAULT_TRAINER_NAME, TRAINER_NAMES
from reconcile.errors import UsageError


@click.group("emulator")
def emulator() -> None:
    """Run the local emulator of the Azure AI Vision model-customization REST API."""


@emulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8079, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free one).")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep state in SQLite under DIR (survives restarts). Default: in memory.")
@click.option("--key", default=None, help="Accepted Ocp-Apim-Subscription-Key (default: $VISION_EMULATOR_KEY).")
@click.option("--token", default=None, help="Accepted 'Authorization: Bearer' token (default: $VISION_EMULATOR_TOKEN).")
@click.option("--speed", default=1.0, show_default=True, type=float,
              help="Emulated seconds per real second (e.g. 3600: an hour of training per second).")
@click.option("--latency-ms", default=0.0, type=float, help="Fault: latency added to every API answer.")
@click.option("--tps-limit", default=None, type=float, help="Fault: answer 429 above this many requests per second (S1: 20).")
@click.option("--error-rate", default=0.0, type=float, help="Fault: share of requests answered 429/500/503.")
@click.option("--drop-rate", default=0.0, type=float,
              help="Fault: share of requests whose connection is dropped (half before, half after the write).")
@click.option("--seed", default=0, type=int, help="Seed of the fault decisions and of the trainer (reproducible runs).")
@click.option("--trainer", "trainer_name", type=click.Choice(TRAINER_NAMES), default=DEFAULT_TRAINER_NAME,
              show_default=True,
              help="pixels: models learn from the images (fits run in the background); "
                   "prior: a fast baseline that ignores the pixels.")
@click.option("--service", type=click.Choice(["vision", "azureml"]), default="vision", show_default=True,
              help="Which API to emulate: Vision model customization, or Azure Machine Learning (AutoML for images).")
@click.option("--blob-endpoint", default=None, help="azureml: the datastore's blob endpoint (Azurite), "
              "e.g. http://127.0.0.1:10000/devstoreaccount1.")
@click.option("--tls/--no-tls", default=True, show_default=True, help="azureml: serve HTTPS with a throwaway certificate.")
@click.option("--data-root", "data_roots", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="A folder file:// label files and images may be read from (repeatable; default: the current "
                   "folder). Symlinks are followed and must stay inside.")
def serve(host: str, port: int, state_dir: Path | None, key: str | None, token: str | None, speed: float,
          latency_ms: float, tps_limit: float | None, error_rate: float, drop_rate: float, seed: int,
          trainer_name: str, service: str = "vision", blob_endpoint: str | None = None, tls: bool = True,
          data_roots: tuple[Path, ...] = ()) -> None:
    """Serve the emulated API under http://HOST:PORT/computervision until interrupted."""
    from reconcile.emulator.faults import FaultConfig
    from reconcile.emulator.server import EmulatorServer
    from reconcile.emulator.trainer import make_trainer

    key = key or os.environ.get("VISION_EMULATOR_KEY") or None
    token = token or os.environ.get("VISION_EMULATOR_TOKEN") or None
    if speed <= 0:
        raise UsageError("--speed must be > 0 (emulated seconds per real second)")
    try:
        faults = FaultConfig(
            latency_ms=latency_ms,
            tps_limit=tps_limit,
            error_rate=error_rate,
            drop_before_rate=drop_rate / 2,
            drop_after_rate=drop_rate / 2,
            seed=seed,
        ).validate()
    except ValueError as exc:
        raise UsageError(f"bad fault flag: {exc}") from None
    if service == "azureml":
        from reconcile.cli.emulator_azureml import serve_azureml

        return serve_azureml(host=host, port=port, state_dir=state_dir, token=token, speed=speed, faults=faults,
                             blob_endpoint=blob_endpoint, tls=tls, trainer_name=trainer_name)
    try:
        server = EmulatorServer(key=key, token=token, state_dir=state_dir, speed=speed, faults=faults, host=host,
                                port=port, trainer=make_trainer(trainer_name, seed=seed),
                                file_roots=list(data_roots) or [Path.cwd()])
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    auth = "key" if key else ""
    auth += (" and bearer token" if auth else "bearer token") if token else ""

    def ready() -> None:
        click.echo(
            f"vision emulator listening on {server.endpoint}/computervision "
            f"(auth: {auth or 'none'}; state: {state_dir or 'memory'}; speed: {speed:g}x; trainer: {trainer_name}; "
            f"file:// from: {', '.join(str(r) for r in server.service.file_roots)})",
            err=True,
        )

    server.serve_forever(on_ready=ready)
