"""The fast path: typed msgspec decoding plus columnar checks (design/coco-validation.md §5).

:func:`validate_fast` returns a complete report only when it can prove the exact
pass (:mod:`reconcile.coco.exact`) would produce the same one: the file has no
error, and its only warnings are ones computed here with the same counts,
examples and order. Anything else (a schema failure while decoding, a failing
column check, a rarer warning) returns ``None`` and the caller runs the exact
pass. That keeps one source of truth for the rules while a valid 1M-annotation
file costs less than parsing it into Python dicts.

Why these choices:

- ``gc=False`` Structs are not tracked by the cycle collector, so building
  millions of them does not trigger full collections.
- Per-field ``Meta`` constraints and ``BBox.__post_init__`` (called from C) check
  types and box ranges during decoding, with no second walk over the records.
- Unknown fields (``segmentation``, ``iscrowd``, ``license``...) are skipped
  without being materialised.
"""

from __future__ import annotations

import re
from itertools import repeat
from operator import attrgetter
from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta, Struct

from reconcile.coco.collect import Collector
from reconcile.coco.exact import set_limit_messages, show, url_problems
from reconcile.coco.options import ValidationOptions
from reconcile.coco.report import CategoryCount, CocoReport, CocoSummary

Id = Annotated[int, Meta(ge=1)]
NonEmpty = Annotated[str, Meta(min_length=1)]
Unit0 = Annotated[float, Meta(ge=0, lt=1)]
Unit1 = Annotated[float, Meta(gt=0, le=1)]


class _Reject(ValueError):
    """Raised inside decoding hooks to hand the file to the exact pass."""


class BBox(Struct, array_like=True, gc=False):
    left: Unit0
    top: Unit0
    width: Unit1
    height: Unit1

    def __post_init__(self) -> None:
        # No tolerance here: a box saved only by the tolerance is a warning, which
        # the exact pass reports.
        if self.left + self.width > 1.0 or self.top + self.height > 1.0:
            raise _Reject("box leaves the image")


class Image(Struct, gc=False):
    id: Id
    width: int | float
    height: int | float
    file_name: NonEmpty
    absolute_url: str | None = None
    coco_url: str | None = None


class Category(Struct, gc=False):
    id: Id
    name: NonEmpty


class DetAnnotation(Struct, gc=False):
    id: Id
    image_id: Id
    category_id: Id
    bbox: BBox
    area: Annotated[float, Meta(ge=0)] | None = None


class ClsAnnotation(Struct, gc=False):
    id: Id
    image_id: Id
    category_id: Id
    bbox: None = None
    area: Annotated[float, Meta(ge=0)] | None = None


class DetCoco(Struct, gc=False):
    images: list[Image]
    annotations: list[DetAnnotation]
    categories: list[Category]


class ClsCoco(Struct, gc=False):
    images: list[Image]
    annotations: list[ClsAnnotation]
    categories: list[Category]


_DET_DECODER = msgspec.json.Decoder(DetCoco)
_CLS_DECODER = msgspec.json.Decoder(ClsCoco)

# Characters that make the exact pass complain about a URL (joined with "\n").
_URL_ODD = re.compile(r"[\x00-\x09\x0b-\x20\x7f?#]")
_URL_ROOT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/]*/")


def _ids(records: list, attr: str = "id") -> np.ndarray:
    return np.fromiter(map(attrgetter(attr), records), dtype=np.int64, count=len(records))


def _has_duplicates(sorted_ids: np.ndarray) -> bool:
    return bool(sorted_ids.size > 1 and (sorted_ids[1:] == sorted_ids[:-1]).any())


def _positions(sorted_ids: np.ndarray, order: np.ndarray, refs: np.ndarray) -> np.ndarray | None:
    """Index (in file order) of the record each ref names, or ``None`` if some ref names nothing."""
    if refs.size == 0:
        return np.empty(0, dtype=np.int64)
    if sorted_ids.size == 0:
        return None
    lo, hi = int(sorted_ids[0]), int(sorted_ids[-1])
    if int(refs.min()) < lo or int(refs.max()) > hi:
        return None
    if hi - lo <= 4 * sorted_ids.size + 1024:
        table = np.full(hi - lo + 1, -1, dtype=np.int64)
        table[sorted_ids - lo] = order
        pos = table[refs - lo]
        return None if bool((pos < 0).any()) else pos
    where = np.searchsorted(sorted_ids, refs)
    if not bool((sorted_ids[where] == refs).all()):
        return None
    return order[where]


def _urls_ok(images: list[Image], options: ValidationOptions) -> bool:
    urls = [u for u in map(_url_of, images) if u is not None]
    if len(urls) != len(images) and options.require_urls:
        return False
    if not urls:
        return True
    first = urls[0]
    if url_problems(first, options):
        return False
    root = _URL_ROOT.match(first)
    if root is None:
        return False
    prefix = root.group(0)
    joined = "\n".join(urls)
    if _URL_ODD.search(joined) or joined.count("\n") != len(urls) - 1:
        return False
    if joined.endswith("/") or "/\n" in joined:
        return False
    if min(map(len, urls)) <= len(prefix):
        return False
    if not all(map(str.startswith, urls, repeat(prefix))):
        return False
    sp = options.storage_prefix
    return sp is None or all(map(str.startswith, urls, repeat(sp)))


def _url_of(im: Image) -> str | None:
    return im.absolute_url if im.absolute_url is not None else im.coco_url


def validate_fast(data: bytes | bytearray | memoryview, options: ValidationOptions, source: str | None) -> CocoReport | None:
    """A complete report for files the fast path can vouch for; ``None`` means "run the exact pass"."""
    if options.inline and not options.version.inline_annotation_data:
        return None
    decoder = _DET_DECODER if options.detection else _CLS_DECODER
    try:
        doc = decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return None
    try:
        return _check(doc, options, source)
    except OverflowError:  # an id beyond int64: only the exact pass can describe it
        return None


def _check(doc: DetCoco | ClsCoco, options: ValidationOptions, source: str | None) -> CocoReport | None:
    lim = options.limits
    detection = options.detection
    images, annotations, categories = doc.images, doc.annotations, doc.categories
    n_img, n_ann, n_cat = len(images), len(annotations), len(categories)
    if not lim.min_images <= n_img <= lim.max_images or not lim.min_categories <= n_cat <= lim.max_categories:
        return None

    # images: ids, dims, file names, URLs
    img_ids = _ids(images)
    img_order = np.argsort(img_ids, kind="stable")
    img_sorted = img_ids[img_order]
    if _has_duplicates(img_sorted):
        return None
    for attr in ("width", "height"):
        dims = np.fromiter(map(attrgetter(attr), images), dtype=np.float64, count=n_img)
        if n_img and (
            not bool(np.isfinite(dims).all())
            or not bool((dims == np.floor(dims)).all())
            or float(dims.min()) < lim.min_dim
            or float(dims.max()) > lim.max_dim
        ):
            return None
    file_names = list(map(attrgetter("file_name"), images))
    if len(set(file_names)) != n_img:
        return None
    if not _urls_ok(images, options):
        return None

    # categories
    cat_ids = _ids(categories)
    cat_order = np.argsort(cat_ids, kind="stable")
    cat_sorted = cat_ids[cat_order]
    if _has_duplicates(cat_sorted):
        return None
    names = list(map(attrgetter("name"), categories))
    if not all(map(str.strip, names)):
        return None

    # annotations: ids and references
    ann_ids = _ids(annotations)
    ann_sorted = np.sort(ann_ids)
    if _has_duplicates(ann_sorted):
        return None
    img_pos = _positions(img_sorted, img_order, _ids(annotations, "image_id"))
    if img_pos is None:
        return None
    cat_pos = _positions(cat_sorted, cat_order, _ids(annotations, "category_id"))
    if cat_pos is None:
        return None

    per_image = np.bincount(img_pos, minlength=n_img)
    c = Collector(options.max_examples)
    no_ann = int((per_image == 0).sum())
    if detection:
        if n_img and int(per_image.max()) > lim.max_regions_per_image:
            return None
        if no_ann:
            idx = np.flatnonzero(per_image == 0)[: c.max_examples]
            c.add_many(
                "W_IMG_NO_ANN",
                no_ann,
                [(f"images[{i}]", f"image id {images[i].id} has no annotation") for i in idx.tolist()],
            )
        boxes = np.bincount(cat_pos, minlength=n_cat)
        if n_ann:
            pairs = _sorted_unique(img_pos * max(n_cat, 1) + cat_pos)
            per_cat_images = np.bincount(pairs % max(n_cat, 1), minlength=n_cat)
        else:
            per_cat_images = np.zeros(n_cat, dtype=np.int64)
    else:
        if n_img and (no_ann or int(per_image.max()) > 1):
            return None
        per_cat_images = np.bincount(cat_pos, minlength=n_cat)
        boxes = np.zeros(n_cat, dtype=np.int64)

    # categories: names, unused, per-category minimum (examples in file order)
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        first = seen.setdefault(name, j)
        if first != j:
            c.add("W_CAT_NAME_DUP", f"categories[{j}].name", f"{show(name)} is also categories[{first}]")
    if n_cat and int(per_cat_images.min()) < lim.min_images_per_category and bool(
        ((per_cat_images > 0) & (per_cat_images < lim.min_images_per_category)).any()
    ):
        return None
    for j in np.flatnonzero(per_cat_images == 0).tolist():
        c.add("W_CAT_UNUSED", f"categories[{j}]", f"category id {categories[j].id} is used by no annotation")
    few = np.flatnonzero((per_cat_images > 0) & (per_cat_images < lim.warn_min_images_per_category)).tolist()
    for j in few:
        c.add("W_IMAGES_PER_CATEGORY", f"categories[{j}]", f"category id {categories[j].id} is on {int(per_cat_images[j])} image(s)")
    if n_cat > lim.warn_max_categories:
        c.add("W_CATEGORY_COUNT", "categories", f"{n_cat} categories; some sources allow only {lim.warn_max_categories}")
    for key, srt, n in (("images", img_sorted, n_img), ("annotations", ann_sorted, n_ann), ("categories", cat_sorted, n_cat)):
        if n and (int(srt[0]) != 1 or int(srt[-1]) != n):
            c.add("W_IDS_NOT_DENSE", key, f"{key} ids run {int(srt[0])}..{int(srt[-1])}, not 1..{n}")
    set_limit_messages(c, options)

    cat_names = {cat.id: cat.name for cat in categories}
    per_category: dict[str, CategoryCount] = {}
    img_counts = per_cat_images.tolist()
    box_counts = boxes.tolist() if detection else [0] * n_cat
    for j, cat in enumerate(categories):
        imgs, bx = img_counts[j], box_counts[j]
        prev = per_category.get(cat.name)
        if prev is not None:
            imgs, bx = imgs + prev.images, bx + prev.boxes
        per_category[cat.name] = CategoryCount(images=imgs, boxes=bx)
    summary = CocoSummary(
        images=n_img,
        annotations=n_ann,
        categories=n_cat,
        per_category=per_category,
        images_without_annotations=no_ann,
        category_names=cat_names,
        file_names=tuple(file_names),
    )
    return CocoReport(valid=True, problems=c.problems(), summary=summary, source=source)


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    # np.unique takes a slow hashing path on large int arrays in numpy 2.x; sort + diff does not.
    keys = np.sort(keys)
    if keys.size == 0:
        return keys
    keep = np.empty(keys.size, dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]
