"""The fast path: typed msgspec decoding plus columnar checks (docs/coco.md, "How it is fast").

:func:`validate_fast` returns a complete report only when it can prove the exact
pass (:mod:`reconcile.coco.exact`) would produce the same one: the file has no
error, and its only warnings are ones computed here with the same counts,
examples and order. Anything else (a schema failure while decoding, a failing
column check, a rarer warning) returns a :class:`Miss` saying what the exact
pass may reuse, and the caller runs it. That keeps one source of truth for the rules while a valid 1M-annotation
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

import functools
import re
from dataclasses import dataclass, field
from operator import attrgetter

import msgspec
import numpy as np

from reconcile.coco.collect import Collector
from reconcile.coco.exact import set_limit_messages
from reconcile.coco.options import ValidationOptions
from reconcile.coco.report import CategoryCount, CocoReport, CocoSummary
from reconcile.coco.schema import ClsCoco, DetCoco, images_clean, strict_coco
from reconcile.coco.values import show

_DET_DECODER = msgspec.json.Decoder(DetCoco)
_CLS_DECODER = msgspec.json.Decoder(ClsCoco)


@functools.cache
def _strict_decoder(detection: bool, min_dim: int, max_dim: int) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(strict_coco(detection, min_dim, max_dim))


def _ids(records: list, attr: str = "id") -> np.ndarray:
    return np.fromiter(map(attrgetter(attr), records), dtype=np.int64, count=len(records))


def _ascending(ids: np.ndarray) -> bool:
    return ids.size < 2 or bool((ids[1:] > ids[:-1]).all())


def _sorted(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, sorted ids); files usually list ids in order, which needs no sort."""
    if _ascending(ids):
        return np.arange(ids.size), ids
    order = np.argsort(ids, kind="stable")
    return order, ids[order]


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


@dataclass(frozen=True, slots=True)
class Miss:
    """Why the fast path stepped aside, and what the exact pass may reuse.

    ``typed`` is the decoded document when decoding succeeded (only a column or
    cross-record check failed): the exact pass then works on these Structs and
    never re-parses. Otherwise ``trusted`` gives, per section, how many leading
    records did decode (so passed every per-field rule) before the failure.
    """

    typed: DetCoco | ClsCoco | None = None
    trusted: dict[str, int] = field(default_factory=dict)


_DIM_FAILURE = re.compile(r"`\$\.images\[\d+\]\.(width|height)`")
_FAILED_AT = re.compile(r"`\$\.(images|annotations|categories)\[(\d+)\]")


def validate_fast(
    data: bytes | bytearray | memoryview, options: ValidationOptions, source: str | None
) -> CocoReport | Miss:
    """A complete report for files the fast path can vouch for; a :class:`Miss` means "run the exact pass"."""
    if options.inline and not options.version.inline_annotation_data:
        return Miss()
    lim = options.limits
    strict = _strict_decoder(options.detection, lim.min_dim, lim.max_dim)
    dims_checked = True
    try:
        try:
            doc = strict.decode(data)
        except msgspec.ValidationError as exc:
            if not _DIM_FAILURE.search(str(exc)):
                raise
            # A float or out-of-range width/height: decode again with dims as plain numbers.
            dims_checked = False
            doc = (_DET_DECODER if options.detection else _CLS_DECODER).decode(data)
    except msgspec.ValidationError as exc:
        m = _FAILED_AT.search(str(exc))
        return Miss(trusted={m.group(1): int(m.group(2))} if m else {})
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return Miss()
    report = _check(doc, options, source, dims_checked=dims_checked)
    return report if report is not None else Miss(typed=doc)


def _check(
    doc: DetCoco | ClsCoco, options: ValidationOptions, source: str | None, *, dims_checked: bool = False
) -> CocoReport | None:
    lim = options.limits
    detection = options.detection
    images, annotations, categories = doc.images, doc.annotations, doc.categories
    n_img, n_ann, n_cat = len(images), len(annotations), len(categories)
    if not lim.min_images <= n_img <= lim.max_images or not lim.min_categories <= n_cat <= lim.max_categories:
        return None

    # images: ids, dims, file names, URLs
    img_ids = _ids(images)
    img_order, img_sorted = _sorted(img_ids)
    if _has_duplicates(img_sorted):
        return None
    if not images_clean(images, options, lim, dims_checked=dims_checked):
        return None
    file_names = list(map(attrgetter("file_name"), images))
    if len(set(file_names)) != n_img:
        return None

    # categories
    cat_ids = _ids(categories)
    cat_order, cat_sorted = _sorted(cat_ids)
    if _has_duplicates(cat_sorted):
        return None
    names = list(map(attrgetter("name"), categories))
    if not all(map(str.strip, names)):
        return None

    # annotations: ids and references
    ann_ids = _ids(annotations)
    ann_sorted = ann_ids if _ascending(ann_ids) else np.sort(ann_ids)
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
    cat_counts: dict[int, CategoryCount] = {}
    img_counts = per_cat_images.tolist()
    box_counts = boxes.tolist() if detection else [0] * n_cat
    for j, cat in enumerate(categories):
        imgs, bx = img_counts[j], box_counts[j]
        cat_counts[cat.id] = CategoryCount(images=imgs, boxes=bx)
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
        category_counts=cat_counts,
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
