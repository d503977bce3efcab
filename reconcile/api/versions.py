"""Per-api-version limits and enums (docs/service-api.md §3 and §5).

Validate per version, never against one hard-coded table: the max budget is 288 h
on 2023-02-01-preview and 1344 h (336 for classifiers) from 2023-04-01-preview;
``Product-Recognizer`` exists from 04-01; inline ``annotationData`` only in 07-01.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

ANNOTATION_KINDS: Final = ("imageClassification", "imageObjectDetection")

GENERIC_CLASSIFIER: Final = "Generic-Classifier"
GENERIC_DETECTOR: Final = "Generic-Detector"
PRODUCT_RECOGNIZER: Final = "Product-Recognizer"

#: The dataset annotation kind each model kind trains on.
ANNOTATION_KIND_FOR_MODEL: Final = {
    GENERIC_CLASSIFIER: "imageClassification",
    GENERIC_DETECTOR: "imageObjectDetection",
    PRODUCT_RECOGNIZER: "imageObjectDetection",
}

#: Default model kind when a request omits it ([inferred]: derived from the dataset).
MODEL_KIND_FOR_ANNOTATION: Final = {
    "imageClassification": GENERIC_CLASSIFIER,
    "imageObjectDetection": GENERIC_DETECTOR,
}

MODEL_STATES: Final = ("notStarted", "training", "succeeded", "failed", "cancelling", "cancelled")
MODEL_TERMINAL_STATES: Final = frozenset({"succeeded", "failed", "cancelled"})
EVALUATION_STATES: Final = ("notStarted", "running", "succeeded", "failed")
EVALUATION_TERMINAL_STATES: Final = frozenset({"succeeded", "failed"})

AUTHENTICATION_KINDS: Final = ("none", "managedIdentity", "sas")

#: Hours of compute per training image below which a run fails ``notEnoughBudget``
#: (SAMP docs/faq.md). Product-Recognizer multiplies by the average boxes per image.
MIN_BUDGET_HOURS_PER_IMAGE: Final = {
    GENERIC_CLASSIFIER: 0.0003334,
    GENERIC_DETECTOR: 0.0066667,
    PRODUCT_RECOGNIZER: 0.0003334,
}


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """What one api-version accepts."""

    name: str
    """The ``api-version`` query value."""
    model_kinds: tuple[str, ...]
    """Accepted ``trainingParameters.modelKind`` values."""
    max_budget_hours: int
    """Schema maximum of ``timeBudgetInHours`` (any kind)."""
    max_budget_hours_by_kind: dict[str, int]
    """Documented per-kind maxima (checked by the service as well as the schema max)."""
    inline_annotation_data: bool
    """Whether a dataset may carry inline COCO in ``annotationData``."""
    analyze_model_version: str
    """``modelVersion`` the analyze call reports."""

    def budget_cap(self, model_kind: str) -> int:
        """The largest budget accepted for ``model_kind`` in this version."""
        return min(self.max_budget_hours, self.max_budget_hours_by_kind.get(model_kind, self.max_budget_hours))


V2023_02_01: Final = ApiVersion(
    name="2023-02-01-preview",
    model_kinds=(GENERIC_CLASSIFIER, GENERIC_DETECTOR),
    max_budget_hours=288,
    max_budget_hours_by_kind={GENERIC_CLASSIFIER: 288, GENERIC_DETECTOR: 288},
    inline_annotation_data=False,
    analyze_model_version="2023-02-01-preview",
)
V2023_04_01: Final = ApiVersion(
    name="2023-04-01-preview",
    model_kinds=(GENERIC_CLASSIFIER, GENERIC_DETECTOR, PRODUCT_RECOGNIZER),
    max_budget_hours=1344,
    max_budget_hours_by_kind={GENERIC_CLASSIFIER: 336, GENERIC_DETECTOR: 1344, PRODUCT_RECOGNIZER: 336},
    inline_annotation_data=False,
    analyze_model_version="2023-04-01-preview",
)
V2023_07_01: Final = ApiVersion(
    name="2023-07-01-preview",
    model_kinds=(GENERIC_CLASSIFIER, GENERIC_DETECTOR, PRODUCT_RECOGNIZER),
    max_budget_hours=1344,
    max_budget_hours_by_kind={GENERIC_CLASSIFIER: 336, GENERIC_DETECTOR: 1344, PRODUCT_RECOGNIZER: 336},
    inline_annotation_data=True,
    analyze_model_version="2023-07-01-preview",
)

VERSIONS: Final = {v.name: v for v in (V2023_02_01, V2023_04_01, V2023_07_01)}
API_VERSION_NAMES: Final = tuple(VERSIONS)
DEFAULT_API_VERSION: Final = V2023_04_01.name


def get(name: str) -> ApiVersion:
    """Return the :class:`ApiVersion` called ``name``; raise ``KeyError`` if unknown."""
    return VERSIONS[name]


def min_budget_hours(model_kind: str, num_images: int, avg_boxes_per_image: float = 1.0) -> int:
    """The smallest whole-hour budget that does not fail ``notEnoughBudget``."""
    per = MIN_BUDGET_HOURS_PER_IMAGE[model_kind]
    need = per * num_images
    if model_kind == PRODUCT_RECOGNIZER:
        need *= avg_boxes_per_image
    return max(1, math.ceil(need - 1e-9))
