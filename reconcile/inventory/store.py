"""Where an environment's inventory lives, with optimistic concurrency.

Every store promises:

- :meth:`StateStore.load` returns the current document (an empty one if none was
  written yet) and remembers its version (generation, and the blob's eTag).
- :meth:`StateStore.save` writes atomically (readers see the old or the new
  document, never a mix) and only if the stored version is still the one this
  store last loaded or wrote; otherwise it raises
  :class:`~reconcile.errors.PreconditionFailedError` and writes nothing. The apply
  lock serialises normal use; this check catches a writer that bypassed it.

Local storage keeps ``<state_dir>/inventory/<env>.json``; Azure and Azurite keep
the blob ``.vision-gitops/state/<env>.json`` in the configured container.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reconcile.errors import ConfigError, PreconditionFailedError
from reconcile.inventory.records import Inventory

if TYPE_CHECKING:
    from reconcile.specs.config import EnvironmentConfig

STATE_PREFIX = ".vision-gitops/state/"


class StateStore(Protocol):
    where: str

    def load(self) -> Inventory: ...

    def save(self, inventory: Inventory) -> Inventory:
        """Write ``inventory`` as the next generation; returns what was stored."""
        ...


def _conflict(where: str, expected: int, found: int) -> PreconditionFailedError:
    return PreconditionFailedError(
        f"{where}: the inventory was changed by another writer (expected generation {expected}, found {found}); "
        "nothing was written",
        status=412,
        hint="another apply or import ran without the apply lock; run `reconcile plan` again",
    )


class MemoryStateStore:
    """An in-memory store (tests, and plans made without any state)."""

    def __init__(self, environment: str = "") -> None:
        self.where = "memory"
        self._doc = Inventory(environment=environment)
        self._lock = threading.Lock()
        self._seen = 0

    def load(self) -> Inventory:
        with self._lock:
            self._seen = self._doc.generation
            return self._doc

    def save(self, inventory: Inventory) -> Inventory:
        with self._lock:
            if self._doc.generation != self._seen:
                raise _conflict(self.where, self._seen, self._doc.generation)
            self._doc = inventory.model_copy(update={"generation": self._seen + 1})
            self._seen = self._doc.generation
            return self._doc


class FileStateStore:
    """A JSON file written by temp file + fsync + rename; the generation check runs under an flock."""

    def __init__(self, path: str | os.PathLike[str], environment: str) -> None:
        self.path = Path(path)
        self.environment = environment
        self.where = str(self.path)
        self._seen = 0

    def _read(self) -> Inventory:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Inventory(environment=self.environment)
        except OSError as exc:
            raise ConfigError(f"cannot read the inventory {self.path}: {exc.strerror or exc}") from exc
        return Inventory.from_json(data, where=self.where)

    def load(self) -> Inventory:
        inv = self._read()
        self._seen = inv.generation
        return inv

    def save(self, inventory: Inventory) -> Inventory:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_suffix(".json.lock"), "a+") as guard:
                fcntl.flock(guard.fileno(), fcntl.LOCK_EX)
                try:
                    current = self._read().generation
                    if current != self._seen:
                        raise _conflict(self.where, self._seen, current)
                    doc = inventory.model_copy(update={"generation": current + 1, "environment": self.environment})
                    self._write(doc.to_json())
                finally:
                    fcntl.flock(guard.fileno(), fcntl.LOCK_UN)
        except OSError as exc:
            raise ConfigError(f"cannot write the inventory {self.path}: {exc.strerror or exc}") from exc
        self._seen = doc.generation
        return doc

    def _write(self, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


class BlobStateStore:
    """A blob written with ``If-Match: <eTag>`` (or ``If-None-Match: *`` for the first write)."""

    def __init__(self, container_client: Any, environment: str) -> None:
        self._container = container_client
        self.environment = environment
        self.blob_name = f"{STATE_PREFIX}{environment}.json"
        self.where = f"{container_client.url.rstrip('/')}/{self.blob_name}"
        self._etag: str | None = None
        self._seen = 0

    def _call(self, what: str, fn: Any) -> Any:
        from reconcile.remote_failures import blob_call

        return blob_call(what, fn)

    def load(self) -> Inventory:
        from azure.core.exceptions import ResourceNotFoundError

        def read() -> Inventory:
            try:
                downloader = self._container.get_blob_client(self.blob_name).download_blob()
            except ResourceNotFoundError:
                self._etag = None
                return Inventory(environment=self.environment)
            data = downloader.readall()
            self._etag = downloader.properties.etag
            return Inventory.from_json(data, where=self.where)

        inv = self._call(f"read {self.blob_name}", read)
        self._seen = inv.generation
        return inv

    def save(self, inventory: Inventory) -> Inventory:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        doc = inventory.model_copy(update={"generation": self._seen + 1, "environment": self.environment})
        blob = self._container.get_blob_client(self.blob_name)

        def write() -> str:
            try:
                if self._etag is None:
                    result = blob.upload_blob(doc.to_json(), overwrite=False)
                else:
                    result = blob.upload_blob(doc.to_json(), overwrite=True, etag=self._etag,
                                              match_condition=MatchConditions.IfNotModified)
            except (ResourceExistsError, ResourceModifiedError):
                raise _conflict(self.where, self._seen, -1) from None
            return result["etag"]

        self._etag = self._call(f"write {self.blob_name}", write)
        self._seen = doc.generation
        return doc


def state_store_for(config: EnvironmentConfig, env: Mapping[str, str] | None = None) -> StateStore:
    """The inventory store of one environment: a file under ``state_dir`` for local storage, else a
    blob in the environment's container (opened by :func:`reconcile.storage.open.open_container`).

    Raises :class:`ConfigError` when the storage settings or secrets it needs are missing.
    """
    from reconcile.storage.open import open_container

    container = open_container(config, env)
    if container is None:
        return FileStateStore(Path(config.state_dir) / "inventory" / f"{config.name}.json", config.name)
    return BlobStateStore(container, config.name)
