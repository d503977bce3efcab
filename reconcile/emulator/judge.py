"""Judging a dataset when a run starts, the way the service would (docs/service-api.md §3).

:func:`load_dataset` reads every annotation file (and inline ``annotationData``),
checks it with the project's one COCO validator and returns :class:`LabeledData`,
or raises :class:`RunFailed` carrying the camelCase failure code the service
reports in ``model.error`` / ``evaluation.error``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path

from reconcile.api import versions
from reconcile.emulator.fetch import FetchError, read_uri, safe_uri
from reconcile.emulator.labeled import LabeledData, from_coco
from reconcile.emulator.records import DatasetRecord, Failure

ALLOWED_SCHEMES = frozenset({"https", "http", "file"})

#: Lower end of the recommended budget multiples (SAMP docs/faq.md): 5-10x, 3-5x, 2-4x.
SUGGESTED_FACTOR = {versions.GENERIC_CLASSIFIER: 5, versions.GENERIC_DETECTOR: 3, versions.PRODUCT_RECOGNIZER: 2}


class RunFailed(Exception):
    """A training or evaluation run fails with ``failure`` (it is not a request error)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.failure = Failure(code=code, message=message)
        self.model_kind: str | None = None
        """The run's model kind, when known (set by the service)."""


def load_dataset(
    dataset: DatasetRecord | None, name: str, *, purpose: str, api_version: str, file_roots: Sequence[Path] = ()
) -> LabeledData:
    """Read and validate every annotation source of ``dataset``; raise :class:`RunFailed` on any problem.

    ``file://`` annotation files and images are read only inside ``file_roots`` (see :mod:`.fetch`).
    """
    from reconcile.coco.validate import ValidationOptions, validate_bytes

    if dataset is None:
        raise RunFailed("datasetNotFound", f"The dataset '{name}' was not found; it may have been unregistered.")
    sources: list[tuple[str, bytes, bool]] = []
    for uri in dataset.annotation_file_uris or []:
        try:
            sources.append((safe_uri(uri), read_uri(uri, dataset.authentication, file_roots=file_roots), False))
        except FetchError as exc:
            raise RunFailed(
                "datasetNotFound", f"An annotation file of dataset '{name}' could not be read: {exc}"
            ) from None
    if dataset.annotation_data is not None:
        sources.append(("annotationData", json.dumps(dataset.annotation_data).encode(), True))
    if not sources:
        raise RunFailed("datasetNotFound", f"The dataset '{name}' has no annotation files.")
    data: LabeledData | None = None
    for label, raw, inline in sources:
        opts = ValidationOptions(
            kind=dataset.annotation_kind,
            purpose=purpose,
            api_version=api_version,
            storage_prefix=None,
            allowed_schemes=ALLOWED_SCHEMES,
            inline=inline,
        )
        report = validate_bytes(raw, opts)
        if not report.valid:
            raise RunFailed(
                "datasetCorrupt",
                f"The annotation file {label} of dataset '{name}' is not valid COCO for "
                f"{dataset.annotation_kind} ({purpose}): {report.first_error_text()}",
            )
        part = from_coco(json.loads(raw), dataset.annotation_kind)
        data = part if data is None else data.merged(part)
    assert data is not None
    if data.num_images == 0:
        raise RunFailed("datasetCorrupt", f"The dataset '{name}' has no images.")
    return dataclasses.replace(data, source=name, auth=dataset.authentication, file_roots=tuple(file_roots))


def check_kind(model_kind: str, dataset: DatasetRecord, name: str) -> None:
    """``incorrectModelKind`` when ``model_kind`` cannot use a dataset of this annotation kind."""
    need = versions.ANNOTATION_KIND_FOR_MODEL[model_kind]
    if dataset.annotation_kind != need:
        raise RunFailed(
            "incorrectModelKind",
            f"A {model_kind} model needs an {need} dataset, but dataset '{name}' is {dataset.annotation_kind}.",
        )


def check_budget(model_kind: str, data: LabeledData, budget_hours: int) -> None:
    """``notEnoughBudget`` (with the minimum and a suggested budget) when the budget is too small."""
    need = versions.min_budget_hours(model_kind, data.num_images, max(1.0, data.avg_boxes_per_image()))
    if budget_hours < need:
        suggested = max(need, math.ceil(need * SUGGESTED_FACTOR[model_kind]))
        raise RunFailed(
            "notEnoughBudget",
            f"The time budget of {budget_hours} hours is not enough to train a {model_kind} model on "
            f"{data.num_images} images: the minimum is {need} hours; the suggested budget is {suggested} hours.",
        )
