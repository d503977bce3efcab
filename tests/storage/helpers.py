"""Shared helpers for storage tests: a local COCO + images folder, and a store that fails mid-run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

from reconcile.storage.base import BlobStore


class Interrupted(RuntimeError):
    """Simulates a crash (Ctrl-C, lost connection) in the middle of an upload run."""


class InterruptingStore:
    """Delegates to ``inner`` but raises :class:`Interrupted` on the put after ``fail_after`` successful ones."""

    def __init__(self, inner: BlobStore, fail_after: int) -> None:
        self.inner = inner
        self.fail_after = fail_after
        self.puts = 0
        self._lock = threading.Lock()

    @property
    def url_prefix(self) -> str:
        return self.inner.url_prefix

    def url(self, name: str) -> str:
        return self.inner.url(name)

    def name_for(self, uri: str) -> str | None:
        return self.inner.name_for(uri)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def list_names(self, prefix: str = "") -> Iterator[str]:
        return self.inner.list_names(prefix)

    def put(self, name: str, data: bytes, *, content_type: str | None = None) -> bool:
        with self._lock:
            if self.puts >= self.fail_after:
                raise Interrupted(f"interrupted before {name}")
            self.puts += 1
        return self.inner.put(name, data, content_type=content_type)

    def get(self, name: str) -> bytes:
        return self.inner.get(name)


def make_local_coco(tmp: Path, n_images: int = 4, duplicate_content: bool = False) -> tuple[bytes, Path]:
    """A classification COCO file without URLs plus its images folder.

    Image i holds ``b"img-i"``; with ``duplicate_content`` the last image (even, so .PNG like image 2) repeats image 2.
    """
    images = tmp / "images"
    (images / "sub").mkdir(parents=True, exist_ok=True)
    recs, anns = [], []
    for i in range(1, n_images + 1):
        name = f"sub/{i:03d}.jpg" if i % 2 else f"{i:03d}.PNG"
        content = b"img-2" if duplicate_content and i == n_images else f"img-{i}".encode()
        (images / name).write_bytes(content)
        recs.append({"id": i, "width": 64, "height": 60, "file_name": name})
        anns.append({"id": i, "image_id": i, "category_id": 1 + i % 2})
    doc = {"images": recs, "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    return json.dumps(doc).encode(), images
