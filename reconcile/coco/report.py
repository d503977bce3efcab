"""The result of validating a COCO label file: typed, immutable, JSON-friendly.

A report lists *every* problem found (not only the first): each :class:`Problem`
carries the total ``count`` of occurrences and the first few :class:`Example`
locations as JSON paths such as ``annotations[12].bbox[2]``. Problem codes and
their severities are catalogued in :mod:`reconcile.coco.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Example:
    """One occurrence of a problem: where (a JSON path) and what was found there."""

    path: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Problem:
    """All occurrences of one rule violation: total ``count`` and the first ``examples``."""

    code: str
    severity: Severity
    message: str
    count: int
    examples: tuple[Example, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "examples": [e.to_dict() for e in self.examples],
        }


@dataclass(frozen=True, slots=True)
class CategoryCount:
    """How many distinct images carry a category, and how many boxes (detection only; 0 otherwise)."""

    images: int
    boxes: int


@dataclass(frozen=True, slots=True)
class CocoSummary:
    """What a structurally readable file contains.

    ``per_category`` is keyed by category name (categories sharing a name are
    merged; that is a warning of its own). ``category_names`` maps each category
    id to its name, ``category_counts`` gives the counts per id, and
    ``file_names`` lists the images' ``file_name`` in file order. These exist for
    :mod:`reconcile.coco.diff` and are left out of :meth:`to_dict`.
    """

    images: int
    annotations: int
    categories: int
    per_category: dict[str, CategoryCount]
    images_without_annotations: int = 0
    category_names: dict[int, str] = field(default_factory=dict, compare=True)
    category_counts: dict[int, CategoryCount] = field(default_factory=dict, repr=False)
    """Counts per category id (for categories with a valid id and name)."""
    file_names: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "annotations": self.annotations,
            "categories": self.categories,
            "images_without_annotations": self.images_without_annotations,
            "per_category": {
                name: {"images": c.images, "boxes": c.boxes} for name, c in sorted(self.per_category.items())
            },
        }


@dataclass(frozen=True, slots=True)
class CocoReport:
    """The verdict on one COCO file. ``valid`` is true when no problem is an error (warnings allowed)."""

    valid: bool
    problems: tuple[Problem, ...]
    summary: CocoSummary | None
    source: str | None = None
    """The file name (or another label) the bytes came from, for messages."""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def codes(self) -> dict[str, int]:
        """``{code: count}`` of every problem, handy for tests and logs."""
        return {p.code: p.count for p in self.problems}

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "valid": self.valid,
            "errors": sum(p.count for p in self.errors),
            "warnings": sum(p.count for p in self.warnings),
            "problems": [p.to_dict() for p in self.problems],
            "summary": self.summary.to_dict() if self.summary is not None else None,
        }

    def first_error_text(self) -> str:
        """A one-paragraph description of the errors, for exceptions and one-line logs."""
        parts = []
        for p in self.errors:
            where = f" (e.g. {p.examples[0].path}: {p.examples[0].detail})" if p.examples else ""
            parts.append(f"{p.code} x{p.count}: {p.message}{where}")
        return "; ".join(parts)
