"""The exact pass: every rule, every occurrence, with JSON paths.

It takes a document decoded into plain JSON values (so it can describe any
shape of wrongness) and never raises on any JSON value. Records are checked in
chunks: a chunk that converts into the typed Structs of
:mod:`reconcile.coco.schema` (and passes the column checks) cannot break a
per-field rule, so only chunks that fail are walked record by record. Rules
across records (duplicates, references, counts per image and per category) run
over numpy columns. Examples are always listed in file order.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter, itemgetter
from typing import Any

import msgspec
import numpy as np

from reconcile.coco import schema
from reconcile.coco.collect import Collector
from reconcile.coco.options import ValidationOptions
from reconcile.coco.report import CategoryCount, CocoSummary
from reconcile.coco.rules import Limits
from reconcile.coco.urls import UrlChecker, url_detail
from reconcile.coco.values import is_number, jtype, show

SECTIONS = ("images", "annotations", "categories")
CHUNK = 4096
_INT64_MAX = 2**63 - 1


def set_limit_messages(c: Collector, options: ValidationOptions) -> None:
    """Messages that name the limits in force (shared with the fast path so reports match)."""
    lim = options.limits
    what = f"{options.kind} {options.purpose}"
    c.message("E_IMG_DIM_RANGE", f"width and height must be {lim.min_dim}..{lim.max_dim} pixels for {what}")
    c.message(
        "E_IMAGES_PER_CATEGORY", f"each used category needs at least {lim.min_images_per_category} images for {what}"
    )
    c.message(
        "W_IMAGES_PER_CATEGORY",
        f"the documented minimum is {lim.warn_min_images_per_category} training images per category",
    )
    c.message("E_IMAGE_COUNT", f"{what} allows {lim.min_images}..{lim.max_images} images")
    c.message("E_CATEGORY_COUNT", f"{what} allows {lim.min_categories}..{lim.max_categories} categories")


# --- per-record field rules (used for chunks that did not convert cleanly) ---------


def _id(value: Any, path: str, c: Collector) -> int:
    """``value`` if it is a valid id (a JSON integer in 1..2^63-1), else 0 after recording why."""
    if value is None:
        c.add("E_FIELD_MISSING", path, "missing or null")
        return 0
    if type(value) is not int:
        c.add("E_ID_TYPE", path, f"found {jtype(value)} {show(value)}")
        return 0
    if value < 1 or value > _INT64_MAX:
        c.add("E_ID_RANGE", path, f"found {show(value)}")
        return 0
    return value


def _plain(rec: Any) -> Any:
    """A typed record as plain JSON values (so the per-record rules read it like a dict)."""
    return msgspec.to_builtins(rec) if isinstance(rec, msgspec.Struct) else rec


def _image_fields(
    rec: Any, i: int, options: ValidationOptions, lim: Limits, urls: UrlChecker, c: Collector
) -> tuple[int, str | None]:
    # Like _annotation_fields: short branches for valid values, details only for kept examples.
    if isinstance(rec, (schema.LooseImage, schema.Image)):
        iid, name, width, height = rec.id, rec.file_name, rec.width, rec.height
        url, url_key = (rec.absolute_url, "absolute_url") if rec.absolute_url is not None else (rec.coco_url, "coco_url")
    elif isinstance(rec, (dict, msgspec.Struct)):
        get = _plain(rec).get
        iid, name, width, height = get("id"), get("file_name"), get("width"), get("height")
        url_key = "absolute_url" if get("absolute_url") is not None else "coco_url"
        url = get(url_key)
    else:
        c.add("E_RECORD_TYPE", f"images[{i}]", f"found {jtype(rec)}")
        return 0, None
    if not (type(iid) is int and 0 < iid <= _INT64_MAX):
        iid = _id(iid, f"images[{i}].id", c)
    if name is None:
        c.add("E_FIELD_MISSING", f"images[{i}].file_name", "missing or null")
    elif type(name) is not str or not name:
        c.add("E_FILE_NAME", f"images[{i}].file_name", f"found {jtype(name)} {show(name)}")
        name = None
    for dim, v in (("width", width), ("height", height)):
        if type(v) is int and lim.min_dim <= v <= lim.max_dim:
            continue
        if v is None:
            c.add("E_FIELD_MISSING", f"images[{i}].{dim}", "missing or null")
        elif not is_number(v) or v != int(v):
            c.add("E_IMG_DIM_TYPE", f"images[{i}].{dim}", f"found {jtype(v)} {show(v)}")
        elif not lim.min_dim <= v <= lim.max_dim:
            c.add("E_IMG_DIM_RANGE", f"images[{i}].{dim}", f"{show(v)} not in {lim.min_dim}..{lim.max_dim}")
    if url is None:
        if options.require_urls:
            c.add("E_IMG_URL_MISSING", f"images[{i}]", "no absolute_url or coco_url")
    else:
        for code, reason in urls.checks(url):
            if c.hit(code):
                c.example(code, f"images[{i}].{url_key}", url_detail(url, reason, options))
    return iid, name


def _annotation_fields(rec: Any, k: int, detection: bool, tol: float, c: Collector) -> tuple[int, int, int]:
    # Hot when a whole file is wrong (say, pixel boxes): valid values take the short
    # branches, and details are only formatted for the examples that are kept.
    if isinstance(rec, schema.LooseAnnotation):
        aid, img, cat, bbox, area = rec.id, rec.image_id, rec.category_id, rec.bbox, rec.area
    elif isinstance(rec, (dict, msgspec.Struct)):
        get = _plain(rec).get
        aid, img, cat, bbox, area = get("id"), get("image_id"), get("category_id"), get("bbox"), get("area")
    else:
        c.add("E_RECORD_TYPE", f"annotations[{k}]", f"found {jtype(rec)}")
        return 0, 0, 0
    if not (type(aid) is int and 0 < aid <= _INT64_MAX):
        aid = _id(aid, f"annotations[{k}].id", c)
    if not (type(img) is int and 0 < img <= _INT64_MAX):
        img = _id(img, f"annotations[{k}].image_id", c)
    if not (type(cat) is int and 0 < cat <= _INT64_MAX):
        cat = _id(cat, f"annotations[{k}].category_id", c)
    if detection:
        if bbox is None:
            c.add("E_BBOX_MISSING", f"annotations[{k}].bbox", "missing or null")
        else:
            _check_bbox(bbox, k, tol, c)
    elif bbox is not None:
        c.add("E_BBOX_FORBIDDEN", f"annotations[{k}].bbox", f"found {jtype(bbox)} {show(bbox)}")
    if area is not None and (not is_number(area) or area < 0):
        c.add("W_AREA", f"annotations[{k}].area", f"found {jtype(area)} {show(area)}")
    return aid, img, cat


_NUMBER_TYPES = (int, float)


def _check_bbox(bbox: Any, k: int, tol: float, c: Collector) -> None:
    if type(bbox) is not list or len(bbox) != 4:
        what = f"array of {len(bbox)}" if isinstance(bbox, list) else jtype(bbox)
        c.add("E_BBOX_SHAPE", f"annotations[{k}].bbox", f"found {what}, expected [left, top, width, height]")
        return
    left, top, width, height = bbox
    if not (
        type(left) in _NUMBER_TYPES
        and type(top) in _NUMBER_TYPES
        and type(width) in _NUMBER_TYPES
        and type(height) in _NUMBER_TYPES
    ):
        for n, v in enumerate(bbox):
            if not is_number(v):
                c.add("E_BBOX_SHAPE", f"annotations[{k}].bbox[{n}]", f"found {jtype(v)} {show(v)}, expected a number")
        return
    ok = True
    for n, v, label in ((0, left, "left"), (1, top, "top")):
        if not 0 <= v < 1:
            ok = False
            if c.hit("E_BBOX_RANGE"):
                c.example("E_BBOX_RANGE", f"annotations[{k}].bbox[{n}]", f"{label} = {show(v)}, must be in [0, 1)")
    for n, v, label in ((2, width, "width"), (3, height, "height")):
        if not 0 < v <= 1:
            ok = False
            if c.hit("E_BBOX_RANGE"):
                c.example("E_BBOX_RANGE", f"annotations[{k}].bbox[{n}]", f"{label} = {show(v)}, must be in (0, 1]")
    if not ok:
        return
    for n, a, b, label in ((2, left, width, "left + width"), (3, top, height, "top + height")):
        s = a + b
        if s > 1 + tol:
            if c.hit("E_BBOX_RANGE"):
                c.example("E_BBOX_RANGE", f"annotations[{k}].bbox[{n}]", f"{label} = {s!r} > 1 (pixels instead of fractions?)")
        elif s > 1:
            c.add("W_BBOX_TOLERANCE", f"annotations[{k}].bbox[{n}]", f"{label} = {s!r}, within tolerance {tol!r}")


_BOX_LABELS = ("left", "top", "width", "height")
_SUM_LABELS = {2: "left + width", 3: "top + height"}


def _original_bbox(rec: Any) -> list[Any]:
    return rec.get("bbox") if isinstance(rec, dict) else getattr(rec, "bbox")


def _report_box_values(structs: list[schema.NumbersBoxAnnotation], chunk: list, start: int, tol: float, c: Collector) -> None:
    """What :func:`_check_bbox` reports for these boxes (same counts, order and details), over columns."""
    boxes = np.array([a.bbox for a in structs], dtype=np.float64).reshape(-1, 4)
    left, top, width, height = boxes.T
    bad = np.empty(boxes.shape, dtype=bool)
    bad[:, 0] = ~((left >= 0) & (left < 1))
    bad[:, 1] = ~((top >= 0) & (top < 1))
    bad[:, 2] = ~((width > 0) & (width <= 1))
    bad[:, 3] = ~((height > 0) & (height <= 1))
    in_range = ~bad.any(axis=1)
    sums = np.zeros(boxes.shape, dtype=np.float64)
    sums[:, 2] = left + width
    sums[:, 3] = top + height
    over = np.zeros(boxes.shape, dtype=bool)
    over[:, 2:] = in_range[:, None] & (sums[:, 2:] > 1 + tol)
    near = np.zeros(boxes.shape, dtype=bool)
    near[:, 2:] = in_range[:, None] & (sums[:, 2:] > 1) & ~over[:, 2:]

    def detail(flat: int) -> tuple[str, str, str]:
        k, n = divmod(flat, 4)
        orig = _original_bbox(chunk[k])
        path = f"annotations[{start + k}].bbox[{n}]"
        if bad[k, n]:
            rng = "[0, 1)" if n < 2 else "(0, 1]"
            return "E_BBOX_RANGE", path, f"{_BOX_LABELS[n]} = {show(orig[n])}, must be in {rng}"
        total = orig[n - 2] + orig[n]
        if over[k, n]:
            return "E_BBOX_RANGE", path, f"{_SUM_LABELS[n]} = {total!r} > 1 (pixels instead of fractions?)"
        return "W_BBOX_TOLERANCE", path, f"{_SUM_LABELS[n]} = {total!r}, within tolerance {tol!r}"

    errors = np.flatnonzero(bad | over)
    if errors.size:
        keep = max(0, c.max_examples - c.count("E_BBOX_RANGE"))
        c.add_many("E_BBOX_RANGE", int(errors.size), [detail(f)[1:] for f in errors[:keep].tolist()])
    warnings = np.flatnonzero(near)
    if warnings.size:
        keep = max(0, c.max_examples - c.count("W_BBOX_TOLERANCE"))
        c.add_many("W_BBOX_TOLERANCE", int(warnings.size), [detail(f)[1:] for f in warnings[:keep].tolist()])


def _report_prefix(images: list[schema.Image], start: int, options: ValidationOptions, c: Collector) -> None:
    prefix = options.storage_prefix
    assert prefix is not None
    for k, im in enumerate(images, start):
        key, url = ("absolute_url", im.absolute_url) if im.absolute_url is not None else ("coco_url", im.coco_url)
        if url is not None and not url.startswith(prefix) and c.hit("E_IMG_URL_PREFIX"):
            c.example("E_IMG_URL_PREFIX", f"images[{k}].{key}", url_detail(url, "prefix", options))


def _report_urls(
    images: list[schema.Image], start: int, options: ValidationOptions, urls: UrlChecker, c: Collector
) -> None:
    if all(im.absolute_url is not None for im in images):
        values = [im.absolute_url for im in images]
        verdict = urls.shared_verdict(values)
        if verdict is not None:  # e.g. http:// everywhere: one problem per URL, the same for all
            code, reason = verdict
            keep = max(0, c.max_examples - c.count(code))
            c.add_many(
                code,
                len(values),
                [(f"images[{k}].absolute_url", url_detail(u, reason, options)) for k, u in enumerate(values[:keep], start)],
            )
            return
    for k, im in enumerate(images, start):
        key, url = ("absolute_url", im.absolute_url) if im.absolute_url is not None else ("coco_url", im.coco_url)
        if url is None:
            if options.require_urls:
                c.add("E_IMG_URL_MISSING", f"images[{k}]", "no absolute_url or coco_url")
            continue
        for code, reason in urls.checks(url):
            if c.hit(code):
                c.example(code, f"images[{k}].{key}", url_detail(url, reason, options))


# --- columns ---------------------------------------------------------------------------


class _Column:
    """An int64 column built chunk by chunk (numpy straight from the records, no interim list)."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._pending: list[int] = []

    def _flush(self) -> None:
        if self._pending:
            self._parts.append(np.array(self._pending, dtype=np.int64))
            self._pending = []

    def take(self, records: list, getter: Any) -> None:
        self._flush()
        self._parts.append(np.fromiter(map(getter, records), dtype=np.int64, count=len(records)))

    def append(self, value: int) -> None:
        self._pending.append(value)

    def array(self) -> np.ndarray:
        self._flush()
        return np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.int64)


class _Ids:
    """Valid ids of one section (0 = invalid) with duplicates and first occurrences resolved."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        idx = np.flatnonzero(self.ids > 0)
        vals = self.ids[idx]
        order = np.argsort(vals, kind="stable")
        sv, si = vals[order], idx[order]
        new = np.ones(sv.size, dtype=bool)
        if sv.size > 1:
            np.not_equal(sv[1:], sv[:-1], out=new[1:])
        run = np.cumsum(new) - 1
        self.unique = sv[new]  # sorted
        self.first = si[new]  # file index of each unique id's first record
        dup = ~new
        dup_idx, dup_first = si[dup], self.first[run[dup]]
        o = np.argsort(dup_idx, kind="stable")
        self.dup_idx, self.dup_first = dup_idx[o], dup_first[o]
        self.all_valid = idx.size == self.ids.size
        self.ok = self.all_valid and self.dup_idx.size == 0

    def report_dups(self, c: Collector, code: str, section: str) -> None:
        ex = [
            (f"{section}[{i}].id", f"id {int(self.ids[i])} is also {section}[{f}]")
            for i, f in zip(self.dup_idx[: c.max_examples].tolist(), self.dup_first[: c.max_examples].tolist())
        ]
        c.add_many(code, int(self.dup_idx.size), ex)

    def lookup(self, refs: np.ndarray) -> np.ndarray:
        """Index into :attr:`unique` of each ref, -1 where the ref is 0 or names no record."""
        out = np.full(refs.size, -1, dtype=np.int64)
        if self.unique.size == 0 or refs.size == 0:
            return out
        where = np.searchsorted(self.unique, refs)
        where[where >= self.unique.size] = 0
        hit = (self.unique[where] == refs) & (refs > 0)
        out[hit] = where[hit]
        return out


def _report_refs(c: Collector, code: str, field: str, refs: np.ndarray, pos: np.ndarray, what: str) -> None:
    bad = np.flatnonzero((refs > 0) & (pos < 0))
    ex = [(f"annotations[{k}].{field}", f"no {what} has id {int(refs[k])}") for k in bad[: c.max_examples].tolist()]
    c.add_many(code, int(bad.size), ex)


def _distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs of two equal-length int arrays."""
    if a.size == 0:
        return a, b
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    new = np.ones(a.size, dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[new], b[new]


# --- the pass --------------------------------------------------------------------------


def validate_document(
    doc: Any, options: ValidationOptions, c: Collector, *, trusted: dict[str, int] | None = None
) -> CocoSummary | None:
    """Check a decoded document against every rule; return a summary when the three sections are lists.

    ``doc`` is plain JSON values, or a typed :class:`~reconcile.coco.schema.DetCoco` /
    :class:`~reconcile.coco.schema.ClsCoco` whose records already passed the
    per-field rules. ``trusted`` maps a section to how many of its leading
    records passed them (the fast path's decoder got that far).
    """
    trusted = trusted or {}
    if isinstance(doc, (schema.DetCoco, schema.ClsCoco)):
        doc = {"images": doc.images, "annotations": doc.annotations, "categories": doc.categories}
        trusted = {key: len(doc[key]) for key in SECTIONS}
    elif isinstance(doc, schema.LooseCoco):
        doc = {key: getattr(doc, key) for key in SECTIONS if getattr(doc, key) is not msgspec.UNSET}
    lim = options.limits
    set_limit_messages(c, options)
    if options.inline and not options.version.inline_annotation_data:
        c.add("E_INLINE_UNSUPPORTED", "$", f"api-version {options.api_version}")
    if not isinstance(doc, dict):
        c.add("E_ROOT_TYPE", "$", f"found {jtype(doc)}")
        return None
    sections: dict[str, list[Any]] = {}
    for key in SECTIONS:
        value = doc.get(key)
        if value is None:
            c.add("E_SECTION_MISSING", key, "missing" if key not in doc else "null")
        elif not isinstance(value, list):
            c.add("E_SECTION_TYPE", key, f"found {jtype(value)}")
        else:
            sections[key] = value
    images = sections.get("images", [])
    annotations = sections.get("annotations", [])
    categories = sections.get("categories", [])
    detection = options.detection

    # --- images: fields per chunk, then ids and file names over columns --------------
    img_col = _Column()
    url_checker = UrlChecker(options)
    no_prefix = dataclasses.replace(options, storage_prefix=None) if options.storage_prefix is not None else None
    names_col: list[str | None] = []
    for start in range(0, len(images), CHUNK):
        chunk = images[start : start + CHUNK]
        if start + len(chunk) <= trusted.get("images", 0) and isinstance(chunk[0], schema.Image):
            structs = chunk
        else:
            structs = schema.convert_or_none(chunk, list[schema.Image])
        if structs is not None and schema.images_clean(structs, options, lim):
            img_col.take(structs, attrgetter("id"))
            names_col.extend(map(attrgetter("file_name"), structs))
        elif structs is not None and no_prefix is not None and schema.images_clean(structs, no_prefix, lim):
            # Only the storage prefix is wrong (the usual misconfiguration, often for
            # every image): list those URLs without walking each record.
            img_col.take(structs, attrgetter("id"))
            names_col.extend(map(attrgetter("file_name"), structs))
            _report_prefix(structs, start, options, c)
        elif structs is not None and schema.dims_clean(structs, lim):
            # Every other field is fine: only the URLs need a look, one by one.
            img_col.take(structs, attrgetter("id"))
            names_col.extend(map(attrgetter("file_name"), structs))
            _report_urls(structs, start, options, url_checker, c)
        else:
            for i, rec in enumerate(chunk, start):
                iid, name = _image_fields(rec, i, options, lim, url_checker, c)
                img_col.append(iid)
                names_col.append(name)
    img_ids = _Ids(img_col.array())
    img_ids.report_dups(c, "E_IMG_ID_DUP", "images")
    valid_names = [n for n in names_col if n is not None]
    file_names = tuple(valid_names)
    if len(set(valid_names)) != len(valid_names):
        seen: dict[str, int] = {}
        for i, name in enumerate(names_col):
            if name is not None:
                first = seen.setdefault(name, i)
                if first != i:
                    c.add("E_FILE_NAME_DUP", f"images[{i}].file_name", f"{show(name)} is also images[{first}]")
    del valid_names, names_col

    # --- categories (few): record by record ------------------------------------------
    cat_col: list[int] = []
    cat_name_col: list[str | None] = []
    seen_cat_names: dict[str, int] = {}
    for j, rec in enumerate(categories):
        rec = _plain(rec)
        p = f"categories[{j}]"
        if not isinstance(rec, dict):
            c.add("E_RECORD_TYPE", p, f"found {jtype(rec)}")
            cat_col.append(0)
            cat_name_col.append(None)
            continue
        cat_col.append(_id(rec.get("id"), p + ".id", c))
        name = rec.get("name")
        if name is None:
            c.add("E_FIELD_MISSING", p + ".name", "missing or null")
        elif not isinstance(name, str) or not name.strip():
            c.add("E_CAT_NAME", p + ".name", f"found {jtype(name)} {show(name)}")
            name = None
        else:
            first = seen_cat_names.setdefault(name, j)
            if first != j:
                c.add("W_CAT_NAME_DUP", p + ".name", f"{show(name)} is also categories[{first}]")
        cat_name_col.append(name)
    cat_ids = _Ids(np.array(cat_col, dtype=np.int64) if cat_col else np.zeros(0, dtype=np.int64))
    cat_ids.report_dups(c, "E_CAT_ID_DUP", "categories")

    # --- annotations: fields per chunk, references over columns -----------------------
    ann_col, ref_img, ref_cat = _Column(), _Column(), _Column()
    typ = list[schema.DetAnnotation] if detection else list[schema.ClsAnnotation]
    tol = options.bbox_tolerance
    for start in range(0, len(annotations), CHUNK):
        chunk = annotations[start : start + CHUNK]
        if start + len(chunk) <= trusted.get("annotations", 0):
            # Already decoded by the fast path's typed decoder: field rules hold.
            get = attrgetter if isinstance(chunk[0], msgspec.Struct) else itemgetter
            ann_col.take(chunk, get("id"))
            ref_img.take(chunk, get("image_id"))
            ref_cat.take(chunk, get("category_id"))
            continue
        structs = schema.convert_or_none(chunk, typ)
        if structs is None and detection:
            # Pixel boxes everywhere is the classic mistake: when only box values are
            # wrong, check them over numpy columns instead of record by record.
            structs = schema.convert_or_none(chunk, list[schema.NumbersBoxAnnotation])
            if structs is not None:
                _report_box_values(structs, chunk, start, tol, c)
        if structs is not None:
            ann_col.take(structs, attrgetter("id"))
            ref_img.take(structs, attrgetter("image_id"))
            ref_cat.take(structs, attrgetter("category_id"))
        else:
            for k, rec in enumerate(chunk, start):
                aid, img, cat = _annotation_fields(rec, k, detection, tol, c)
                ann_col.append(aid)
                ref_img.append(img)
                ref_cat.append(cat)
    ann_ids = _Ids(ann_col.array())
    ann_ids.report_dups(c, "E_ANN_ID_DUP", "annotations")
    del ann_col

    img_refs, cat_refs = ref_img.array(), ref_cat.array()
    del ref_img, ref_cat
    img_pos = img_ids.lookup(img_refs)
    cat_pos = cat_ids.lookup(cat_refs)
    if "images" in sections:
        _report_refs(c, "E_ANN_IMG_REF", "image_id", img_refs, img_pos, "image")
        img_key = img_pos  # -1 = unusable
    else:  # nothing to resolve against: keep the raw ids so per-category counts still mean something
        img_key = np.where(img_refs > 0, img_refs, -1)
    if "categories" in sections:
        _report_refs(c, "E_ANN_CAT_REF", "category_id", cat_refs, cat_pos, "category")

    # --- per image -----------------------------------------------------------------------
    by_file = np.argsort(img_ids.first, kind="stable")  # unique images in file order
    per_image = np.bincount(img_pos[img_pos >= 0], minlength=img_ids.unique.size)[by_file]
    firsts, uids = img_ids.first[by_file], img_ids.unique[by_file]
    zero = np.flatnonzero(per_image == 0)
    no_ann = int(zero.size)
    c.add_many(
        "W_IMG_NO_ANN" if detection else "E_IC_NO_LABEL",
        no_ann,
        [(f"images[{firsts[u]}]", f"image id {uids[u]} has no annotation") for u in zero[: c.max_examples].tolist()],
    )
    if detection:
        over = np.flatnonzero(per_image > lim.max_regions_per_image)
        c.add_many(
            "E_REGIONS_PER_IMAGE",
            int(over.size),
            [
                (f"images[{firsts[u]}]", f"image id {uids[u]} has {per_image[u]} regions (max {lim.max_regions_per_image})")
                for u in over[: c.max_examples].tolist()
            ],
        )
    else:
        multi = np.flatnonzero(per_image > 1)
        c.add_many(
            "E_IC_MULTI_LABEL",
            int(multi.size),
            [(f"images[{firsts[u]}]", f"image id {uids[u]} has {per_image[u]} labels") for u in multi[: c.max_examples].tolist()],
        )

    # --- per category ----------------------------------------------------------------------
    n_ucat = cat_ids.unique.size
    has_cat = cat_pos >= 0
    boxes_u = np.bincount(cat_pos[has_cat], minlength=n_ucat)
    both = has_cat & (img_key >= 0)
    pair_cat, _pair_img = _distinct_pairs(cat_pos[both], img_key[both])
    images_u = np.bincount(pair_cat, minlength=n_ucat)
    cat_by_file = np.argsort(cat_ids.first, kind="stable")
    for u in cat_by_file.tolist():
        j, cid, n = int(cat_ids.first[u]), int(cat_ids.unique[u]), int(images_u[u])
        p = f"categories[{j}]"
        if n == 0:
            if boxes_u[u] == 0:
                c.add("W_CAT_UNUSED", p, f"category id {cid} is used by no annotation")
        elif n < lim.min_images_per_category:
            c.add("E_IMAGES_PER_CATEGORY", p, f"category id {cid} is on {n} image(s)")
        elif n < lim.warn_min_images_per_category:
            c.add("W_IMAGES_PER_CATEGORY", p, f"category id {cid} is on {n} image(s)")

    # --- quotas ------------------------------------------------------------------------------
    if "images" in sections and not lim.min_images <= len(images) <= lim.max_images:
        c.add("E_IMAGE_COUNT", "images", f"{len(images)} images, allowed {lim.min_images}..{lim.max_images}")
    if "categories" in sections:
        n = len(categories)
        if not lim.min_categories <= n <= lim.max_categories:
            c.add("E_CATEGORY_COUNT", "categories", f"{n} categories, allowed {lim.min_categories}..{lim.max_categories}")
        elif n > lim.warn_max_categories:
            c.add("W_CATEGORY_COUNT", "categories", f"{n} categories; some sources allow only {lim.warn_max_categories}")

    # --- ids 1..N (only when every id of the section is valid and unique) ---------------------
    for key, ids in (("images", img_ids), ("annotations", ann_ids), ("categories", cat_ids)):
        n = ids.ids.size
        if key in sections and ids.ok and n:
            lo, hi = int(ids.unique[0]), int(ids.unique[-1])
            if lo != 1 or hi != n:
                c.add("W_IDS_NOT_DENSE", key, f"{key} ids run {lo}..{hi}, not 1..{n}")

    if len(sections) != 3:
        return None
    cat_names: dict[int, str] = {}
    cat_counts: dict[int, CategoryCount] = {}
    per_category: dict[str, CategoryCount] = {}
    for u in cat_by_file.tolist():
        j, cid = int(cat_ids.first[u]), int(cat_ids.unique[u])
        name = cat_name_col[j]
        if name is None or cat_col[j] != cid:
            continue
        cat_names[cid] = name
        imgs = int(images_u[u])
        boxes = int(boxes_u[u]) if detection else 0
        cat_counts[cid] = CategoryCount(images=imgs, boxes=boxes)
        prev = per_category.get(name)
        if prev is not None:
            imgs, boxes = imgs + prev.images, boxes + prev.boxes
        per_category[name] = CategoryCount(images=imgs, boxes=boxes)
    return CocoSummary(
        images=len(images),
        annotations=len(annotations),
        categories=len(categories),
        per_category=per_category,
        images_without_annotations=no_ann,
        category_names=cat_names,
        category_counts=cat_counts,
        file_names=file_names,
    )
