"""What to validate a COCO file against (kind, purpose, api-version, storage, tolerance)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from reconcile.api import versions
from reconcile.coco import rules
from reconcile.errors import UsageError


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    """Validation settings. Raises :class:`~reconcile.errors.UsageError` on impossible settings.

    ``require_urls=False`` validates a local file "as it will be after upload":
    images without ``absolute_url``/``coco_url`` are accepted (URLs that are
    present are still checked). ``inline=True`` validates inline ``annotationData``
    (2023-07-01-preview only, with its 1,000-image / 100-category caps).
    """

    kind: str
    purpose: str = "train"
    api_version: str = versions.DEFAULT_API_VERSION
    storage_prefix: str | None = None
    allowed_schemes: frozenset[str] = frozenset({"https"})
    bbox_tolerance: float = rules.DEFAULT_BBOX_TOLERANCE
    max_examples: int = 5
    require_urls: bool = True
    inline: bool = False

    def __post_init__(self) -> None:
        if self.kind not in versions.ANNOTATION_KINDS:
            raise UsageError(f"unknown annotation kind {self.kind!r}; use one of {', '.join(versions.ANNOTATION_KINDS)}")
        if self.purpose not in rules.PURPOSES:
            raise UsageError(f"unknown purpose {self.purpose!r}; use one of {', '.join(rules.PURPOSES)}")
        if self.api_version not in versions.VERSIONS:
            raise UsageError(
                f"unknown api-version {self.api_version!r}; use one of {', '.join(versions.API_VERSION_NAMES)}"
            )
        if not (isinstance(self.bbox_tolerance, (int, float)) and math.isfinite(self.bbox_tolerance)) or not (
            0 <= self.bbox_tolerance < 0.01
        ):
            raise UsageError(f"bbox_tolerance must be a number in [0, 0.01), got {self.bbox_tolerance!r}")
        if self.max_examples < 0:
            raise UsageError("max_examples must be >= 0")
        schemes = frozenset(s.lower() for s in self.allowed_schemes)
        if not schemes:
            raise UsageError("allowed_schemes must name at least one URI scheme")
        object.__setattr__(self, "allowed_schemes", schemes)

    @property
    def limits(self) -> rules.Limits:
        return rules.limits_for(self.kind, self.purpose, inline=self.inline)

    @property
    def version(self) -> versions.ApiVersion:
        return versions.get(self.api_version)

    @property
    def detection(self) -> bool:
        return self.kind == rules.DETECTION
