"""What changed between two versions of a label file, in terms a reviewer cares about.

Never a raw JSON diff: categories added, removed or renamed (by id), per-category
image and box counts before and after, and images added or removed (by
``file_name``), each with counts and the first few examples. Plans carry it as
:class:`~reconcile.plan.model.LabelDiffDoc` and :mod:`reconcile.plan.render` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconcile.coco.report import CategoryCount, CocoSummary
from reconcile.coco.rules import DETECTION
from reconcile.errors import CocoError

DEFAULT_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class CategoryCounts:
    """Images and boxes of one category id, before and after (``name`` shows a rename as ``old -> new``)."""

    id: int
    name: str
    images_before: int
    images_after: int
    boxes_before: int
    boxes_after: int


@dataclass(frozen=True, slots=True)
class LabelDiff:
    """The reviewable difference between two label files (see :func:`label_diff`)."""

    images_before: int
    images_after: int
    annotations_before: int
    annotations_after: int
    categories_before: int
    categories_after: int
    categories_added: tuple[tuple[int, str], ...]
    categories_removed: tuple[tuple[int, str], ...]
    categories_renamed: tuple[tuple[int, str, str], ...]
    per_category: tuple[CategoryCounts, ...]
    """Only the categories whose counts changed, by id."""
    images_added: int
    images_removed: int
    images_added_examples: tuple[str, ...]
    images_removed_examples: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(
            self.categories_added
            or self.categories_removed
            or self.categories_renamed
            or self.per_category
            or self.images_added
            or self.images_removed
            or self.annotations_before != self.annotations_after
        )


def summarize(data: bytes | bytearray | memoryview, kind: str = DETECTION, *, source: str = "<labels>") -> CocoSummary:
    """The summary of a label file's bytes, whatever its validity; ``CocoError`` if it has no readable structure."""
    from reconcile.coco.validate import ValidationOptions, validate_bytes

    options = ValidationOptions(
        kind=kind, purpose="eval", require_urls=False, allowed_schemes=frozenset({"https", "http", "file"}), max_examples=1
    )
    report = validate_bytes(data, options, source=source)
    if report.summary is None:
        raise CocoError(f"{source}: cannot summarise labels: {report.first_error_text()}")
    return report.summary


def label_diff(
    old: bytes | bytearray | memoryview | CocoSummary,
    new: bytes | bytearray | memoryview | CocoSummary,
    *,
    kind: str = DETECTION,
    max_examples: int = DEFAULT_EXAMPLES,
) -> LabelDiff:
    """Compare two label files (bytes or summaries). ``kind`` decides whether boxes are counted.

    Raises :class:`~reconcile.errors.CocoError` if bytes cannot be summarised at all.
    """
    a = old if isinstance(old, CocoSummary) else summarize(old, kind, source="old labels")
    b = new if isinstance(new, CocoSummary) else summarize(new, kind, source="new labels")

    added = tuple((i, n) for i, n in sorted(b.category_names.items()) if i not in a.category_names)
    removed = tuple((i, n) for i, n in sorted(a.category_names.items()) if i not in b.category_names)
    renamed = tuple(
        (i, a.category_names[i], n)
        for i, n in sorted(b.category_names.items())
        if i in a.category_names and a.category_names[i] != n
    )
    counts = []
    zero = CategoryCount(0, 0)
    for cid in sorted(set(a.category_counts) | set(b.category_counts)):
        x, y = a.category_counts.get(cid, zero), b.category_counts.get(cid, zero)
        if (x.images, x.boxes) == (y.images, y.boxes):
            continue
        name_a, name_b = a.category_names.get(cid), b.category_names.get(cid)
        name = name_b if name_a in (None, name_b) else name_a if name_b is None else f"{name_a} -> {name_b}"
        counts.append(CategoryCounts(cid, name or str(cid), x.images, y.images, x.boxes, y.boxes))
    old_names, new_names = set(a.file_names), set(b.file_names)
    img_added = [f for f in b.file_names if f not in old_names]
    img_removed = [f for f in a.file_names if f not in new_names]
    return LabelDiff(
        images_before=a.images,
        images_after=b.images,
        annotations_before=a.annotations,
        annotations_after=b.annotations,
        categories_before=a.categories,
        categories_after=b.categories,
        categories_added=added,
        categories_removed=removed,
        categories_renamed=renamed,
        per_category=tuple(counts),
        images_added=len(img_added),
        images_removed=len(img_removed),
        images_added_examples=tuple(img_added[:max_examples]),
        images_removed_examples=tuple(img_removed[:max_examples]),
    )
