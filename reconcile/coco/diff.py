"""What changed between two versions of a label file, in terms a reviewer cares about.

Never a raw JSON diff: categories added, removed or renamed (by id), per-category
image and box counts before and after, and images added or removed (by
``file_name``), each with counts and the first few examples.
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

    def to_text(self) -> str:
        return render_text(self)

    def to_markdown(self) -> str:
        return render_markdown(self)


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


def _arrow(a: int, b: int) -> str:
    if a == b:
        return f"{a:,}"
    return f"{a:,} -> {b:,} ({b - a:+,})"


def _examples(names: tuple[str, ...], total: int) -> str:
    text = ", ".join(names)
    return text + (f", ... and {total - len(names):,} more" if total > len(names) else "")


def render_text(d: LabelDiff, indent: str = "") -> str:
    """Plain text for terminals and plan files."""
    if not d.changed:
        return f"{indent}labels unchanged ({d.images_after:,} images, {d.annotations_after:,} annotations)"
    out = [
        f"{indent}images: {_arrow(d.images_before, d.images_after)}; annotations: "
        f"{_arrow(d.annotations_before, d.annotations_after)}; categories: {_arrow(d.categories_before, d.categories_after)}"
    ]
    for label, items in (("categories added", d.categories_added), ("categories removed", d.categories_removed)):
        if items:
            out.append(f"{indent}  {label}: " + ", ".join(f"{i} {n!r}" for i, n in items))
    if d.categories_renamed:
        out.append(f"{indent}  categories renamed: " + ", ".join(f"{i} {o!r} -> {n!r}" for i, o, n in d.categories_renamed))
    if d.per_category:
        out.append(f"{indent}  per category:")
        width = max(len(c.name) for c in d.per_category)
        for c in d.per_category:
            line = f"{indent}    {c.name:<{width}}  images {_arrow(c.images_before, c.images_after)}"
            if c.boxes_before or c.boxes_after:
                line += f", boxes {_arrow(c.boxes_before, c.boxes_after)}"
            out.append(line)
    if d.images_added:
        out.append(f"{indent}  images added ({d.images_added:,}): {_examples(d.images_added_examples, d.images_added)}")
    if d.images_removed:
        out.append(f"{indent}  images removed ({d.images_removed:,}): {_examples(d.images_removed_examples, d.images_removed)}")
    return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def render_markdown(d: LabelDiff) -> str:
    """Markdown for pull-request comments."""
    if not d.changed:
        return f"Labels unchanged ({d.images_after:,} images, {d.annotations_after:,} annotations)."
    out = [
        "| | before | after |",
        "|---|---:|---:|",
        f"| images | {d.images_before:,} | {d.images_after:,} |",
        f"| annotations | {d.annotations_before:,} | {d.annotations_after:,} |",
        f"| categories | {d.categories_before:,} | {d.categories_after:,} |",
        "",
    ]
    if d.categories_added:
        out.append("**Categories added:** " + ", ".join(f"`{i}` {_md(n)}" for i, n in d.categories_added))
    if d.categories_removed:
        out.append("**Categories removed:** " + ", ".join(f"`{i}` {_md(n)}" for i, n in d.categories_removed))
    if d.categories_renamed:
        out.append(
            "**Categories renamed:** " + ", ".join(f"`{i}` {_md(o)} → {_md(n)}" for i, o, n in d.categories_renamed)
        )
    if d.per_category:
        out += ["", "| category | images | boxes |", "|---|---:|---:|"]
        for c in d.per_category:
            out.append(
                f"| {_md(c.name)} | {_arrow(c.images_before, c.images_after)} | {_arrow(c.boxes_before, c.boxes_after)} |"
            )
    if d.images_added:
        out.append(f"\n**Images added ({d.images_added:,}):** {_md(_examples(d.images_added_examples, d.images_added))}")
    if d.images_removed:
        out.append(
            f"\n**Images removed ({d.images_removed:,}):** {_md(_examples(d.images_removed_examples, d.images_removed))}"
        )
    return "\n".join(out)
