"""What an Azure-flavoured COCO file must satisfy: problem codes and limits.

Sources (docs/service-api.md §4-§5, docs/coco.md "Rules"):

- DOC-COCO: the "About COCO files" include (field reference).
- SAMP-CHECK: ``check_coco_annotations.py`` in the official samples (the Azure checker).
- SAMP-QUOTA: ``docs/quota_limit.md`` in the same samples.
- DOC-CONCEPT: the "Model customization" concept page (quota table).
- S07: the 2023-07-01-preview swagger (limits of inline ``annotationData``).
- OURS: rules the checker misses and the service needs (see the design note).

Where sources disagree on a maximum, a file is an *error* only above the largest
limit any source states, and a *warning* above the smallest one: the service is
retired, so nothing can settle the disagreement, and refusing a file some source
allows would block users for no proven reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from reconcile.coco.report import Severity

CLASSIFICATION: Final = "imageClassification"
DETECTION: Final = "imageObjectDetection"
PURPOSES: Final = ("train", "eval")

#: Default slack on ``left + width <= 1`` and ``top + height <= 1``: exporters that
#: divide pixel coordinates overshoot 1 by one ulp (x/W + (W-x)/W = 1.0000000000000002).
DEFAULT_BBOX_TOLERANCE: Final = 1e-9


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity
    message: str
    source: str


def _r(code: str, severity: Severity, message: str, source: str) -> tuple[str, Rule]:
    return code, Rule(code, severity, message, source)


E: Final = "error"
W: Final = "warning"

#: Every problem the validator can report, in report order.
RULES: Final[dict[str, Rule]] = dict(
    [
        _r("E_FILE_READ", E, "the file cannot be read", "OURS"),
        _r("E_JSON", E, "the file is not valid UTF-8 JSON (NaN, Infinity and numbers beyond float range are not JSON)", "DOC-COCO"),
        _r("E_ROOT_TYPE", E, "the top level must be a JSON object with images, annotations and categories", "DOC-COCO"),
        _r("E_SECTION_MISSING", E, "a top-level list (images, annotations or categories) is missing or null", "SAMP-CHECK"),
        _r("E_SECTION_TYPE", E, "a top-level section must be a JSON array", "DOC-COCO"),
        _r("E_RECORD_TYPE", E, "every image, annotation and category must be a JSON object", "DOC-COCO"),
        _r("E_INLINE_UNSUPPORTED", E, "inline annotationData exists only from api-version 2023-07-01-preview", "S07"),
        _r("E_FIELD_MISSING", E, "a required field is missing or null", "SAMP-CHECK"),
        _r("E_ID_TYPE", E, "ids must be JSON integers (not booleans, floats or strings)", "DOC-COCO"),
        _r("E_ID_RANGE", E, "ids must be >= 1 (and fit in 64 bits)", "DOC-COCO"),
        _r("E_IMG_ID_DUP", E, "image ids must be unique", "SAMP-CHECK"),
        _r("E_ANN_ID_DUP", E, "annotation ids must be unique", "SAMP-CHECK"),
        _r("E_CAT_ID_DUP", E, "category ids must be unique", "SAMP-CHECK"),
        _r("E_ANN_IMG_REF", E, "annotation image_id names no image", "DOC-COCO"),
        _r("E_ANN_CAT_REF", E, "annotation category_id names no category", "DOC-COCO"),
        _r("E_FILE_NAME", E, "file_name must be a non-empty string", "DOC-COCO"),
        _r("E_FILE_NAME_DUP", E, "file_name must be unique", "DOC-COCO"),
        _r("E_IMG_URL_MISSING", E, "each image needs absolute_url (or coco_url)", "SAMP-CHECK"),
        _r("E_IMG_URL", E, "the image URL must be an absolute URI with an allowed scheme, a host and a blob name", "DOC-COCO"),
        _r("E_IMG_URL_PREFIX", E, "the image URL is not in the configured storage container", "OURS"),
        _r("W_IMG_URL_QUERY", W, "the image URL carries a query string (a SAS token?); prefer managed identity", "OURS"),
        _r("E_IMG_DIM_TYPE", E, "width and height must be integral numbers of pixels", "DOC-COCO"),
        _r("E_IMG_DIM_RANGE", E, "width or height is outside the limits for this kind and purpose", "SAMP-CHECK"),
        _r("E_CAT_NAME", E, "category name must be a non-empty string", "DOC-COCO"),
        _r("W_CAT_NAME_DUP", W, "two categories share a name", "SAMP-CHECK"),
        _r("E_BBOX_MISSING", E, "object detection annotations need a bbox", "SAMP-CHECK"),
        _r("E_BBOX_FORBIDDEN", E, "classification annotations must not have a bbox", "OURS"),
        _r("E_BBOX_SHAPE", E, "bbox must be [left, top, width, height]: four finite numbers", "SAMP-CHECK"),
        _r("E_BBOX_RANGE", E, "bbox must be relative: left, top in [0, 1); width, height in (0, 1]; left+width and top+height <= 1", "SAMP-CHECK"),
        _r("W_BBOX_TOLERANCE", W, "bbox exceeds the image edge by less than the tolerance (rounding); accepted", "OURS"),
        _r("W_AREA", W, "area, when present, should be a non-negative number", "DOC-COCO"),
        _r("E_IC_NO_LABEL", E, "a classification image needs exactly one label; this one has none", "SAMP-QUOTA"),
        _r("E_IC_MULTI_LABEL", E, "a classification image needs exactly one label (multiclass); this one has several", "SAMP-QUOTA"),
        _r("E_REGIONS_PER_IMAGE", E, "more than 1,000 regions on one image", "SAMP-QUOTA"),
        _r("E_IMAGE_COUNT", E, "the number of images is outside the quota for this kind and purpose", "SAMP-QUOTA"),
        _r("E_CATEGORY_COUNT", E, "the number of categories is outside the quota for this kind", "SAMP-QUOTA"),
        _r("W_CATEGORY_COUNT", W, "more categories than the strictest documented quota", "DOC-CONCEPT"),
        _r("E_IMAGES_PER_CATEGORY", E, "a category has fewer images than the minimum", "SAMP-CHECK"),
        _r("W_IMAGES_PER_CATEGORY", W, "a category has fewer training images than the documented minimum", "SAMP-QUOTA"),
        _r("W_IMG_NO_ANN", W, "an image has no annotation (it teaches 'nothing here')", "OURS"),
        _r("W_CAT_UNUSED", W, "a category is used by no annotation", "OURS"),
        _r("W_IDS_NOT_DENSE", W, "ids are not exactly 1..N (the Azure sample checker requires that)", "SAMP-CHECK"),
    ]
)

#: Report order of codes.
ORDER: Final[dict[str, int]] = {code: i for i, code in enumerate(RULES)}


@dataclass(frozen=True, slots=True)
class Limits:
    """Numeric limits for one (kind, purpose, api-version, inline) combination."""

    min_images: int
    max_images: int
    min_dim: int
    max_dim: int
    min_categories: int
    max_categories: int
    warn_max_categories: int
    min_images_per_category: int
    warn_min_images_per_category: int
    max_regions_per_image: int = 1000
    """Only enforced on detection."""


# (kind, purpose) -> limits; see the module docstring for how disagreeing sources are merged.
_BASE: Final[dict[tuple[str, str], Limits]] = {
    (CLASSIFICATION, "train"): Limits(1, 1_000_000, 10, 10_240, 2, 3_000, 2_000, 2, 2),
    (CLASSIFICATION, "eval"): Limits(1, 100_000, 50, 16_000, 2, 3_000, 2_000, 1, 1),
    (DETECTION, "train"): Limits(1, 200_000, 10, 10_240, 1, 2_000, 1_000, 1, 2),
    (DETECTION, "eval"): Limits(1, 100_000, 50, 16_000, 1, 2_000, 1_000, 1, 1),
}

#: 2023-07-01-preview inline ``annotationData`` (S07): at most 1,000 images and 100 categories.
INLINE_MAX_IMAGES: Final = 1_000
INLINE_MAX_CATEGORIES: Final = 100


def limits_for(kind: str, purpose: str, *, inline: bool = False) -> Limits:
    """The limits for ``kind``/``purpose``; ``inline`` applies the 07-01 inline caps. KeyError if unknown."""
    base = _BASE[(kind, purpose)]
    if not inline:
        return base
    return Limits(
        min_images=base.min_images,
        max_images=min(base.max_images, INLINE_MAX_IMAGES),
        min_dim=base.min_dim,
        max_dim=base.max_dim,
        min_categories=base.min_categories,
        max_categories=min(base.max_categories, INLINE_MAX_CATEGORIES),
        warn_max_categories=min(base.warn_max_categories, INLINE_MAX_CATEGORIES),
        min_images_per_category=base.min_images_per_category,
        warn_min_images_per_category=base.warn_min_images_per_category,
        max_regions_per_image=base.max_regions_per_image,
    )
