"""Start a local Azurite blob service (the embedded Azure ML environment's datastore).

Azurite is installed from ``package.json`` into ``node_modules``; its account and key are the
published development ones (they guard nothing but loopback traffic). Blobs persist under
``data_dir`` so a ``plan`` and a later ``apply`` (separate processes) see the same datastore.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reconcile.errors import ConfigError

#: Azurite's well-known development account (public; not a secret).
ACCOUNT: Final = "devstoreaccount1"
ACCOUNT_KEY: Final = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_DEADLINE_S: Final = 20.0
STOP_DEADLINE_S: Final = 5.0


@dataclass
class AzuriteProcess:
    """A running Azurite; :meth:`stop` ends it (only the process it started)."""

    blob_endpoint: str
    process: subprocess.Popen[bytes]

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.blob_endpoint};")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE_S)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stable_port(record: Path) -> int:
    """The port this data folder used before (blob URLs registered in labels name it), else a free one."""
    try:
        port = int(record.read_text().strip())
    except (OSError, ValueError):
        port = 0
    if not 1024 <= port <= 65535:
        port = free_port()
        record.write_text(str(port))
    if _accepts(port):
        raise ConfigError(f"127.0.0.1:{port}, the local Azurite's port, is taken (another local-azureml command "
                          "running?)", hint=f"wait for it, or delete {record} to pick a new port (labels re-upload)")
    return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def start_azurite(root: Path, data_dir: Path) -> AzuriteProcess:
    """Start ``node_modules/.bin/azurite-blob`` under ``root`` on this data folder's loopback port,
    keeping blobs under ``data_dir``.

    Raises :class:`ConfigError` when Azurite is not installed or does not start in time.
    """
    binary = root / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise ConfigError(f"Azurite is not installed ({binary} is missing); the local-azureml environment needs it",
                          hint="run `bash scripts/setup.sh --azurite` (or `npm ci`) in the repository")
    data_dir.mkdir(parents=True, exist_ok=True)
    return launch_azurite(binary, _stable_port(data_dir / "port"), workdir=data_dir, persist=True)


def launch_azurite(binary: Path, port: int, *, workdir: Path, persist: bool,
                   deadline_s: float = START_DEADLINE_S) -> AzuriteProcess:
    """Run ``binary`` (azurite-blob) on ``127.0.0.1:port``, logging to ``workdir/azurite.log``; blobs
    are kept under ``workdir`` when ``persist``, else in memory. Returns once it listens.

    Raises :class:`ConfigError` when it exits first or does not listen within ``deadline_s``
    (then it is killed).
    """
    storage = ["--location", str(workdir)] if persist else ["--inMemoryPersistence"]
    log = open(workdir / "azurite.log", "wb")  # a file, not a pipe: nobody drains a pipe
    proc = subprocess.Popen(
        [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), *storage,
         "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + deadline_s
    while not _accepts(port):
        try:
            # Waiting on the process doubles as the poll interval and notices an early exit.
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        else:
            raise ConfigError(f"Azurite exited with {proc.returncode} before listening",
                              hint=f"see {workdir / 'azurite.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(timeout=STOP_DEADLINE_S)
            raise ConfigError(f"Azurite did not listen on 127.0.0.1:{port} within {deadline_s:.0f} s")
    return AzuriteProcess(blob_endpoint=f"http://127.0.0.1:{port}/{ACCOUNT}", process=proc)
