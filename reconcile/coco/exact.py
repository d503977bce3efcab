"""The exact pass: checks a parsed COCO document record by record.

It is the reference implementation of every rule in :mod:`reconcile.coco.rules`:
slow-ish (one Python loop per record) but complete, and it never raises on any
JSON value. The fast path (:mod:`reconcile.coco.fast`) must agree with it on
every file it accepts; when the fast path sees anything wrong it defers here.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from reconcile.coco.collect import Collector
from reconcile.coco.options import ValidationOptions
from reconcile.coco.report import CategoryCount, CocoSummary

SECTIONS = ("images", "annotations", "categories")

_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


def jtype(value: Any) -> str:
    """The JSON type name of a decoded value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show(value: Any, limit: int = 60) -> str:
    """A short rendering of a JSON value for an example's detail."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (dict, list)):
        text = f"{jtype(value)} of {len(value)}"
    elif isinstance(value, bool) or value is None:
        text = "true" if value is True else "false" if value is False else "null"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def redact_url(url: str) -> str:
    """``url`` without its query string: SAS tokens must never reach output."""
    base, sep, _query = url.partition("?")
    return base + ("?<redacted>" if sep else "")


def url_problems(url: Any, options: ValidationOptions) -> list[tuple[str, str]]:
    """Return ``(code, detail)`` for each problem of one image URL (empty when it is fine)."""
    if not isinstance(url, str):
        return [("E_IMG_URL", f"found {jtype(url)}, expected a URI string")]
    shown = show(redact_url(url), 120)
    if _BAD_URL_CHARS.search(url):
        return [("E_IMG_URL", f"{shown} contains whitespace or control characters")]
    try:
        parts = urlsplit(url)
    except ValueError:
        return [("E_IMG_URL", f"{shown} is not a valid URI")]
    scheme = parts.scheme.lower()
    if not scheme or "://" not in url:
        return [("E_IMG_URL", f"{shown} is not an absolute URI (scheme://host/path)")]
    if scheme not in options.allowed_schemes:
        allowed = ", ".join(sorted(options.allowed_schemes))
        return [("E_IMG_URL", f"{shown}: scheme {scheme!r} is not allowed (allowed: {allowed})")]
    if scheme != "file" and not parts.netloc:
        return [("E_IMG_URL", f"{shown} has no host")]
    out: list[tuple[str, str]] = []
    if "#" in url:
        out.append(("E_IMG_URL", f"{shown} has a #fragment"))
    if not parts.path.strip("/") or parts.path.endswith("/"):
        out.append(("E_IMG_URL", f"{shown} names no blob (empty path or trailing '/')"))
    if "?" in url:
        out.append(("W_IMG_URL_QUERY", f"{shown} has a query string"))
    if options.storage_prefix is not None and not url.startswith(options.storage_prefix):
        out.append(("E_IMG_URL_PREFIX", f"{shown} is not under {options.storage_prefix}"))
    return out


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


def _id(value: Any, path: str, c: Collector) -> int | None:
    """Return ``value`` if it is a valid id (a JSON integer >= 1); record the problem otherwise."""
    if value is None:
        c.add("E_FIELD_MISSING", path, "missing or null")
        return None
    if type(value) is not int:
        c.add("E_ID_TYPE", path, f"found {jtype(value)} {show(value)}")
        return None
    if value < 1:
        c.add("E_ID_RANGE", path, f"found {value}")
        return None
    return value


def _number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def validate_document(doc: Any, options: ValidationOptions, c: Collector) -> CocoSummary | None:
    """Check a decoded JSON value against every rule; return a summary when the three sections are lists."""
    lim = options.limits
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

    # --- images ---------------------------------------------------------------
    image_index: dict[int, int] = {}  # id -> index of its first record
    image_ids_ok = True
    file_names: list[str] = []
    seen_names: dict[str, int] = {}
    for i, rec in enumerate(images):
        p = f"images[{i}]"
        if not isinstance(rec, dict):
            c.add("E_RECORD_TYPE", p, f"found {jtype(rec)}")
            image_ids_ok = False
            continue
        iid = _id(rec.get("id"), p + ".id", c)
        if iid is None:
            image_ids_ok = False
        elif iid in image_index:
            c.add("E_IMG_ID_DUP", p + ".id", f"id {iid} is also images[{image_index[iid]}]")
            image_ids_ok = False
        else:
            image_index[iid] = i
        name = rec.get("file_name")
        if name is None:
            c.add("E_FIELD_MISSING", p + ".file_name", "missing or null")
        elif not isinstance(name, str) or not name:
            c.add("E_FILE_NAME", p + ".file_name", f"found {jtype(name)} {show(name)}")
        else:
            file_names.append(name)
            first = seen_names.setdefault(name, i)
            if first != i:
                c.add("E_FILE_NAME_DUP", p + ".file_name", f"{show(name)} is also images[{first}]")
        for dim in ("width", "height"):
            v = rec.get(dim)
            dp = f"{p}.{dim}"
            if v is None:
                c.add("E_FIELD_MISSING", dp, "missing or null")
            elif not _number(v) or v != int(v):
                c.add("E_IMG_DIM_TYPE", dp, f"found {jtype(v)} {show(v)}")
            elif not lim.min_dim <= v <= lim.max_dim:
                c.add("E_IMG_DIM_RANGE", dp, f"{show(v)} not in {lim.min_dim}..{lim.max_dim}")
        url_key = "absolute_url" if rec.get("absolute_url") is not None else "coco_url"
        url = rec.get(url_key)
        if url is None:
            if options.require_urls:
                c.add("E_IMG_URL_MISSING", p, "no absolute_url or coco_url")
        else:
            for code, detail in url_problems(url, options):
                c.add(code, f"{p}.{url_key}", detail)

    # --- categories -------------------------------------------------------------
    cat_index: dict[int, int] = {}
    cat_ids_ok = True
    cat_names: dict[int, str] = {}
    seen_cat_names: dict[str, int] = {}
    for j, rec in enumerate(categories):
        p = f"categories[{j}]"
        if not isinstance(rec, dict):
            c.add("E_RECORD_TYPE", p, f"found {jtype(rec)}")
            cat_ids_ok = False
            continue
        cid = _id(rec.get("id"), p + ".id", c)
        if cid is None:
            cat_ids_ok = False
        elif cid in cat_index:
            c.add("E_CAT_ID_DUP", p + ".id", f"id {cid} is also categories[{cat_index[cid]}]")
            cat_ids_ok = False
            cid = None
        else:
            cat_index[cid] = j
        name = rec.get("name")
        if name is None:
            c.add("E_FIELD_MISSING", p + ".name", "missing or null")
        elif not isinstance(name, str) or not name.strip():
            c.add("E_CAT_NAME", p + ".name", f"found {jtype(name)} {show(name)}")
        else:
            first = seen_cat_names.setdefault(name, j)
            if first != j:
                c.add("W_CAT_NAME_DUP", p + ".name", f"{show(name)} is also categories[{first}]")
            if cid is not None:
                cat_names[cid] = name

    # --- annotations ------------------------------------------------------------
    ann_seen: dict[int, int] = {}
    ann_ids_ok = True
    per_image: dict[int, int] = {}  # image id -> number of annotations
    cat_images: dict[int, set[int]] = {}  # category id -> image ids
    cat_boxes: dict[int, int] = {}
    check_img_refs = "images" in sections
    check_cat_refs = "categories" in sections
    tol = options.bbox_tolerance
    for k, rec in enumerate(annotations):
        p = f"annotations[{k}]"
        if not isinstance(rec, dict):
            c.add("E_RECORD_TYPE", p, f"found {jtype(rec)}")
            ann_ids_ok = False
            continue
        aid = _id(rec.get("id"), p + ".id", c)
        if aid is None:
            ann_ids_ok = False
        elif aid in ann_seen:
            c.add("E_ANN_ID_DUP", p + ".id", f"id {aid} is also annotations[{ann_seen[aid]}]")
            ann_ids_ok = False
        else:
            ann_seen[aid] = k
        img = _id(rec.get("image_id"), p + ".image_id", c)
        if img is not None and check_img_refs and img not in image_index:
            c.add("E_ANN_IMG_REF", p + ".image_id", f"no image has id {img}")
            img = None
        cat = _id(rec.get("category_id"), p + ".category_id", c)
        if cat is not None and check_cat_refs and cat not in cat_index:
            c.add("E_ANN_CAT_REF", p + ".category_id", f"no category has id {cat}")
            cat = None
        bbox = rec.get("bbox")
        bp = p + ".bbox"
        if detection:
            if bbox is None:
                c.add("E_BBOX_MISSING", bp, "missing or null")
            else:
                _check_bbox(bbox, bp, tol, c)
        elif bbox is not None:
            c.add("E_BBOX_FORBIDDEN", bp, f"found {jtype(bbox)} {show(bbox)}")
        area = rec.get("area")
        if area is not None and (not _number(area) or area < 0):
            c.add("W_AREA", p + ".area", f"found {jtype(area)} {show(area)}")
        if img is not None:
            per_image[img] = per_image.get(img, 0) + 1
        if cat is not None:
            cat_boxes[cat] = cat_boxes.get(cat, 0) + 1
            if img is not None:
                cat_images.setdefault(cat, set()).add(img)

    # --- per image ----------------------------------------------------------------
    no_ann = 0
    for iid, i in image_index.items():
        n = per_image.get(iid, 0)
        p = f"images[{i}]"
        if n == 0:
            no_ann += 1
            c.add("W_IMG_NO_ANN" if detection else "E_IC_NO_LABEL", p, f"image id {iid} has no annotation")
        elif not detection and n > 1:
            c.add("E_IC_MULTI_LABEL", p, f"image id {iid} has {n} labels")
        elif detection and n > lim.max_regions_per_image:
            c.add("E_REGIONS_PER_IMAGE", p, f"image id {iid} has {n} regions (max {lim.max_regions_per_image})")

    # --- per category -------------------------------------------------------------
    for cid, j in cat_index.items():
        n = len(cat_images.get(cid, ()))
        p = f"categories[{j}]"
        if n == 0:
            if cid not in cat_boxes:
                c.add("W_CAT_UNUSED", p, f"category id {cid} is used by no annotation")
        elif n < lim.min_images_per_category:
            c.add("E_IMAGES_PER_CATEGORY", p, f"category id {cid} is on {n} image(s)")
        elif n < lim.warn_min_images_per_category:
            c.add("W_IMAGES_PER_CATEGORY", p, f"category id {cid} is on {n} image(s)")
    set_limit_messages(c, options)

    # --- quotas -------------------------------------------------------------------
    if "images" in sections and not lim.min_images <= len(images) <= lim.max_images:
        c.add("E_IMAGE_COUNT", "images", f"{len(images)} images, allowed {lim.min_images}..{lim.max_images}")
    if "categories" in sections:
        n = len(categories)
        if not lim.min_categories <= n <= lim.max_categories:
            c.add("E_CATEGORY_COUNT", "categories", f"{n} categories, allowed {lim.min_categories}..{lim.max_categories}")
        elif n > lim.warn_max_categories:
            c.add("W_CATEGORY_COUNT", "categories", f"{n} categories; some sources allow only {lim.warn_max_categories}")

    # --- ids 1..N (only when every id of the section is valid and unique) ---------
    for key, ok, ids, n in (
        ("images", image_ids_ok, image_index, len(images)),
        ("annotations", ann_ids_ok, ann_seen, len(annotations)),
        ("categories", cat_ids_ok, cat_index, len(categories)),
    ):
        if key in sections and ok and n and (min(ids) != 1 or max(ids) != n):
            c.add("W_IDS_NOT_DENSE", key, f"{key} ids run {min(ids)}..{max(ids)}, not 1..{n}")

    if len(sections) != 3:
        return None
    per_category: dict[str, CategoryCount] = {}
    for cid, name in cat_names.items():
        imgs = len(cat_images.get(cid, ()))
        boxes = cat_boxes.get(cid, 0) if detection else 0
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
        file_names=tuple(file_names),
    )


def _check_bbox(bbox: Any, p: str, tol: float, c: Collector) -> None:
    if not isinstance(bbox, list) or len(bbox) != 4:
        what = f"array of {len(bbox)}" if isinstance(bbox, list) else jtype(bbox)
        c.add("E_BBOX_SHAPE", p, f"found {what}, expected [left, top, width, height]")
        return
    ok = True
    for n, v in enumerate(bbox):
        if not _number(v):
            c.add("E_BBOX_SHAPE", f"{p}[{n}]", f"found {jtype(v)} {show(v)}, expected a number")
            ok = False
    if not ok:
        return
    left, top, width, height = bbox
    for n, v, label in ((0, left, "left"), (1, top, "top")):
        if not 0 <= v < 1:
            c.add("E_BBOX_RANGE", f"{p}[{n}]", f"{label} = {v!r}, must be in [0, 1)")
            ok = False
    for n, v, label in ((2, width, "width"), (3, height, "height")):
        if not 0 < v <= 1:
            c.add("E_BBOX_RANGE", f"{p}[{n}]", f"{label} = {v!r}, must be in (0, 1]")
            ok = False
    if not ok:
        return
    for n, a, b, label in ((2, left, width, "left + width"), (3, top, height, "top + height")):
        s = a + b
        if s > 1 + tol:
            c.add("E_BBOX_RANGE", f"{p}[{n}]", f"{label} = {s!r} > 1 (pixels instead of fractions?)")
        elif s > 1:
            c.add("W_BBOX_TOLERANCE", f"{p}[{n}]", f"{label} = {s!r}, within tolerance {tol!r}")
