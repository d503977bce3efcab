"""A blob store in a local folder; URIs are ``file://`` so the emulator can read them directly."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from reconcile import safepath
from reconcile.errors import ConfigError, NotFoundError
from reconcile.limits import LABEL_FILE_BYTES


class LocalFolderStore:
    """Blobs as files under ``root`` (created on first use). Thread-safe: writes are temp file + rename."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._prefix = self.root.as_uri().rstrip("/") + "/"

    def __repr__(self) -> str:
        return f"LocalFolderStore({str(self.root)!r})"

    @property
    def url_prefix(self) -> str:
        return self._prefix

    def _path(self, name: str) -> Path:
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") for p in parts) or "\\" in name:
            raise ConfigError(f"invalid blob name {name!r}")
        return self.root.joinpath(*parts)

    def url(self, name: str) -> str:
        self._path(name)
        return self._prefix + quote(name, safe="/")

    def name_for(self, uri: str) -> str | None:
        if not uri.startswith(self._prefix):
            return None
        name = unquote(urlsplit(uri).path)[len(self.root.as_posix().rstrip("/")) + 1 :]
        return name or None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def list_names(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                if f.startswith(".tmp-"):
                    continue
                name = Path(dirpath, f).relative_to(self.root).as_posix()
                if name.startswith(prefix):
                    yield name

    def put(self, name: str, data: bytes, *, content_type: str | None = None) -> bool:
        path = self._path(name)
        if path.is_file():
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise ConfigError(f"cannot write blob {name!r} under {self.root}: {exc.strerror or exc}") from exc
        return True

    def get(self, name: str) -> bytes:
        """The blob's bytes: a regular file inside the folder (symlinks followed), within ``labelFileBytes``."""
        path = self._path(name)
        if not os.path.lexists(path):
            raise NotFoundError(f"blob {name!r} does not exist in {self.root}", status=404)
        return safepath.read(path, [self.root], LABEL_FILE_BYTES, f"blob {name!r} under {self.root}")
