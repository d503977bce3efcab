"""Content-addressed uploads: images, COCO label files, and local COCO files with their images.

Everything is named by the sha256 of its bytes, so:

- uploading the same content twice is impossible (existing names are skipped,
  and files with equal content inside one run are uploaded once);
- a run interrupted half-way is resumed by running it again: it lists what is
  already there and uploads only what is missing;
- the final COCO bytes of a local file are a pure function of the file, its
  images and the store's URL prefix, so ``plan`` can compute the label URI and
  digest without uploading anything (:func:`build_local_coco`), and ``apply``
  uploads exactly that (:func:`upload_local_coco`).
"""

from __future__ import annotations

import mimetypes
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import msgspec

from reconcile import bounded, safepath
from reconcile.errors import CocoError, InputError
from reconcile.limits import IMAGE_BYTES
from reconcile.storage.base import (
    IMAGES_PREFIX,
    BlobStore,
    image_blob_name,
    label_blob_name,
    sha256_hex,
)

DEFAULT_WORKERS = 8


@dataclass(frozen=True, slots=True)
class UploadResult:
    """Where the content now lives, its digest, and how many blobs this call wrote vs found already there."""

    uri: str
    sha256: str
    uploaded: int
    skipped: int


@dataclass(frozen=True, slots=True)
class ImageBlob:
    """One local image and the content-addressed blob it maps to."""

    file_name: str
    path: Path
    sha256: str
    blob_name: str


@dataclass(frozen=True, slots=True)
class ImagesResult:
    """Outcome of :func:`upload_images`: blobs written, blobs already present, bytes sent."""

    uploaded: int
    skipped: int
    bytes_uploaded: int


@dataclass(frozen=True, slots=True)
class LocalCocoBuild:
    """A local COCO file as it will be after upload (``absolute_url`` filled in); nothing uploaded yet."""

    data: bytes
    sha256: str
    label_name: str
    uri: str
    images: tuple[ImageBlob, ...]


@dataclass(frozen=True, slots=True)
class LocalCocoUpload:
    """What :func:`upload_local_coco` did: the label file result and the image upload counts."""

    label: UploadResult
    images: ImagesResult

    @property
    def uri(self) -> str:
        return self.label.uri

    @property
    def sha256(self) -> str:
        return self.label.sha256


# --- label files ----------------------------------------------------------------------


def upload_label_file(store: BlobStore, data: bytes) -> UploadResult:
    """Upload COCO bytes as ``labels/<sha256>.coco.json`` unless already there. Validation is the caller's job."""
    digest = sha256_hex(data)
    name = label_blob_name(digest)
    wrote = False if store.exists(name) else store.put(name, bytes(data), content_type="application/json")
    return UploadResult(uri=store.url(name), sha256=digest, uploaded=int(wrote), skipped=int(not wrote))


# --- images ---------------------------------------------------------------------------------


def _safe_join(root: Path, file_name: str) -> Path:
    """``root/file_name`` for an image ``file_name`` from a COCO file (untrusted text; not resolved yet)."""
    name = file_name.replace("\\", "/")
    problem = safepath.text_problem(name)
    if problem is None and (".." in PurePosixPath(name).parts or not PurePosixPath(name).parts):
        problem = "it climbs out with '..'"
    if problem is not None:
        raise InputError(
            f"image file_name {_shown(file_name)} must be a relative path inside the images folder {root}: {problem}",
            hint="use paths like 'cats/001.jpg' relative to the 'images' folder of the spec",
        )
    return root.joinpath(*PurePosixPath(name).parts)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 120 else text[:100] + "...")


def hash_images(
    images_dir: str | os.PathLike[str],
    file_names: Iterable[str],
    *,
    workers: int = DEFAULT_WORKERS,
    roots: Sequence[Path] | None = None,
) -> tuple[ImageBlob, ...]:
    """Hash the local images named by ``file_names`` (relative to ``images_dir``).

    Each image must resolve (symlinks followed) inside ``roots`` (default: the
    images folder itself) and be a regular file of at most
    :data:`~reconcile.limits.IMAGE_BYTES`. Raises
    :class:`~reconcile.errors.InputError` naming the missing or unreadable files
    (all of them are checked before anything is uploaded), or
    :class:`~reconcile.errors.UnsafePathError` / :class:`~reconcile.errors.LimitExceededError`.
    """
    root = Path(images_dir)
    allowed = list(roots) if roots is not None else [root]
    names = list(file_names)
    paths = [_safe_join(root, n) for n in names]
    missing = [n for n, p in zip(names, paths) if not os.path.lexists(p)]
    if missing:
        shown = ", ".join(_shown(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InputError(
            f"{len(missing)} image(s) named by the COCO file are not in {root}: {shown}",
            hint="add the files, or fix file_name in the COCO file",
        )
    real = [safepath.confine(p, allowed, f"image {_shown(n)}") for n, p in zip(names, paths)]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        digests = list(pool.map(lambda nr: bounded.hash_file(nr[1], IMAGE_BYTES, f"image {_shown(nr[0])}")[0],
                                zip(names, real)))
    return tuple(ImageBlob(n, p, d, image_blob_name(d, n)) for n, p, d in zip(names, real, digests))


def upload_images(
    store: BlobStore,
    blobs: Iterable[ImageBlob],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    on_uploaded: Callable[[ImageBlob], None] | None = None,
) -> ImagesResult:
    """Upload the blobs not yet in ``store``, in parallel, with a progress bar.

    Lists ``images/`` once to learn what is already there (so a re-run after an
    interruption uploads only the rest), and uploads each distinct content once.
    ``progress=None`` shows a bar only on a terminal. Errors are the store's
    (:mod:`reconcile.errors`); blobs written before an error stay written.
    """
    distinct: dict[str, ImageBlob] = {}
    for b in blobs:
        distinct.setdefault(b.blob_name, b)
    present = set(store.list_names(IMAGES_PREFIX)) if distinct else set()
    todo = [b for name, b in distinct.items() if name not in present]
    skipped = len(distinct) - len(todo)
    if not todo:
        return ImagesResult(uploaded=0, skipped=skipped, bytes_uploaded=0)

    def one(b: ImageBlob) -> tuple[bool, int]:
        data = bounded.read_file(b.path, IMAGE_BYTES, f"image {_shown(b.file_name)}")
        if sha256_hex(data) != b.sha256:
            raise InputError(f"image {b.path} changed while uploading; run again")
        wrote = store.put(b.blob_name, data, content_type=mimetypes.guess_type(b.file_name)[0])
        if wrote and on_uploaded is not None:
            on_uploaded(b)
        return wrote, len(data) if wrote else 0

    show = sys.stderr.isatty() if progress is None else progress
    uploaded = sent = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        if show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(
                TextColumn("uploading images"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=True,
            ) as bar:
                task = bar.add_task("images", total=len(todo))
                for wrote, n in pool.map(one, todo):
                    uploaded += wrote
                    sent += n
                    skipped += not wrote
                    bar.advance(task)
        else:
            for wrote, n in pool.map(one, todo):
                uploaded += wrote
                sent += n
                skipped += not wrote
    return ImagesResult(uploaded=uploaded, skipped=skipped, bytes_uploaded=sent)


# --- local COCO files ------------------------------------------------------------------------


def build_local_coco(
    coco_bytes: bytes,
    images_dir: str | os.PathLike[str] | None,
    store: BlobStore,
    *,
    source: str = "<coco>",
    workers: int = DEFAULT_WORKERS,
    roots: Sequence[Path] | None = None,
) -> LocalCocoBuild:
    """The COCO file as it will be uploaded: each image's ``absolute_url`` set to its content-addressed blob.

    Pure and local (hashes files, uploads nothing). Images that already carry a
    URL and have no local file are left as they are; when ``images_dir`` is
    ``None`` the bytes are kept unchanged. Output is deterministic: same inputs,
    same bytes, same digest. Images must resolve inside ``roots`` (default: the
    images folder; the reconciler passes the repository root) and stay within
    :data:`~reconcile.limits.IMAGE_BYTES`. Raises :class:`~reconcile.errors.CocoError` if the
    file is not a JSON object with an ``images`` list (validate it first for a
    full report) and :class:`~reconcile.errors.InputError` for missing images.
    """
    if images_dir is None:
        digest = sha256_hex(coco_bytes)
        name = label_blob_name(digest)
        return LocalCocoBuild(bytes(coco_bytes), digest, name, store.url(name), ())
    try:
        doc = msgspec.json.decode(coco_bytes)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise CocoError(f"{source}: not valid JSON ({str(exc)[:200] or type(exc).__name__})", hint=f"run: reconcile coco validate {source}") from None
    images = doc.get("images") if isinstance(doc, dict) else None
    if not isinstance(images, list):
        raise CocoError(f"{source}: no 'images' list", hint=f"run: reconcile coco validate {source}")
    root = Path(images_dir)
    wanted: list[tuple[dict, str]] = []
    for i, im in enumerate(images):
        if not isinstance(im, dict) or not isinstance(im.get("file_name"), str) or not im["file_name"]:
            raise CocoError(f"{source}: images[{i}] has no file_name", hint=f"run: reconcile coco validate {source}")
        has_url = im.get("absolute_url") is not None or im.get("coco_url") is not None
        if has_url and not bounded.exists_regular(_safe_join(root, im["file_name"])):
            continue
        wanted.append((im, im["file_name"]))
    blobs = hash_images(root, [n for _, n in wanted], workers=workers, roots=roots)
    for (im, _), b in zip(wanted, blobs):
        im.pop("coco_url", None)  # one URL per image: ours
        im["absolute_url"] = store.url(b.blob_name)
    data = msgspec.json.encode(doc)
    digest = sha256_hex(data)
    name = label_blob_name(digest)
    return LocalCocoBuild(data, digest, name, store.url(name), blobs)


def upload_local_coco(
    store: BlobStore,
    build: LocalCocoBuild,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> LocalCocoUpload:
    """Upload a :func:`build_local_coco` result: images first, the label file last.

    The label file is written only after every image is in place, so a label URI
    that exists always refers to images that exist.
    """
    images = upload_images(store, build.images, workers=workers, progress=progress)
    label = upload_label_file(store, build.data)
    return LocalCocoUpload(label=label, images=images)
