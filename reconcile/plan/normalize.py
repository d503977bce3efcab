"""Live objects to comparable values.

The service echoes fields in its own shape: ``modelKind`` may be absent (then it
is not compared), enum casing may differ, property maps
come in any order, and read-only fields (timestamps, status, cost, metrics) are
never compared. Normalizing both sides through the same functions is what keeps
a plan empty after an apply (the idempotence tests check exactly that).
"""

from __future__ import annotations

from typing import Any

from reconcile.api import names, versions
from reconcile.backends.base import LiveDataset, LiveEvaluation, LiveModel

#: customProperties keys this tool writes; they are compared like declared fields.
MARKER_PREFIX = names.RESERVED_PROPERTY_PREFIX
MANAGED_BY_KEY = "vision-gitops.managed-by"
LABELS_DIGEST_KEY = "vision-gitops.labels-sha256"
MANAGED_BY_VALUE = "vision-gitops"

_ANNOTATION_KINDS = {k.lower(): k for k in versions.ANNOTATION_KINDS}
_MODEL_KINDS = {k.lower(): k for k in versions.ANNOTATION_KIND_FOR_MODEL}
_AUTH_KINDS = {k.lower(): k for k in versions.AUTHENTICATION_KINDS}


def annotation_kind(value: str | None) -> str | None:
    if value is None:
        return None
    return _ANNOTATION_KINDS.get(value.lower(), value)


def model_kind(value: str | None) -> str | None:
    """Canonical model kind (``GenericDetector`` -> ``Generic-Detector``).

    ``None`` stays ``None``: the service may not echo modelKind and its default is
    unknown (docs/service-api.md §3, Models), and guessing it from the dataset would make a
    Product-Recognizer look like a Generic-Detector and plan a paid retrain.
    """
    if value is None:
        return None
    compact = value.lower().replace("-", "")
    for canon in versions.ANNOTATION_KIND_FOR_MODEL:
        if canon.lower().replace("-", "") == compact:
            return canon
    return value


def without_query(uri: str) -> str:
    """``uri`` without its query string and fragment: the blob it names, whatever SAS reads it."""
    return uri.split("#", 1)[0].split("?", 1)[0]


def auth_kind(value: str | None) -> str | None:
    if value is None:
        return None
    return _AUTH_KINDS.get(value.lower(), value)


def dataset_fields(live: LiveDataset) -> dict[str, Any]:
    """The comparable fields of a live dataset.

    The keys feed the live fingerprints recorded in inventories and saved plans, so they
    stay as first written (``annotationFileUris`` is the label URIs): renaming one would
    make every recorded dataset look changed in the service.
    """
    return {
        "annotationKind": annotation_kind(live.annotation_kind),
        "annotationFileUris": list(live.label_uris),
        "customProperties": dict(sorted(live.custom_properties.items())),
        "authentication": auth_kind(live.authentication_kind),
    }


def model_fields(live: LiveModel) -> dict[str, Any]:
    return {
        "modelKind": model_kind(live.model_kind),
        "trainingDataset": live.training_dataset,
        "testDataset": live.test_dataset,
        "budgetHours": int(live.budget_hours),
    }


def evaluation_fields(live: LiveEvaluation) -> dict[str, Any]:
    return {"dataset": live.test_dataset}


def dataset_fingerprint_fields(live: LiveDataset) -> dict[str, Any]:
    """What a saved plan pins for a dataset: every compared field plus the eTag."""
    return {**dataset_fields(live), "eTag": live.etag}


def model_fingerprint_fields(live: LiveModel) -> dict[str, Any]:
    # Status is deliberately left out: training progressing must not make a plan stale.
    return model_fields(live)


def has_marker(live: LiveDataset) -> bool:
    """Whether a live dataset carries this tool's ownership marker."""
    return live.custom_properties.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE
