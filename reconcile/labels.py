"""Label files between the specs and the plan: validate, resolve to URIs, upload.

A dataset's labels are blob URIs or local COCO files kept in git. Local files are
content-addressed: the plan computes, without writing anything, the exact URI each
will have once uploaded (from the sha256 of the final, URL-filled bytes); apply
uploads them first, then registers the dataset. The label digest goes into the
dataset's customProperties, so a changed file is a PATCH in the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from reconcile.backends.base import LiveState
from reconcile.plan.model import LabelDiffDoc, LabelFile, ResourceChange
from reconcile.specs.loader import SpecSet


def purposes(specs: SpecSet, dataset: str) -> list[str]:
    """How a dataset is used: ``train`` (a model's training data) and/or ``eval`` (test/evaluation data)."""
    out = []
    if any(m.training_dataset == dataset for m in specs.models.values()):
        out.append("train")
    if any(m.test_dataset == dataset for m in specs.models.values()) or any(
        e.dataset == dataset for e in specs.evaluations.values()
    ):
        out.append("eval")
    return out or ["train"]


@dataclass(frozen=True, slots=True)
class LabelCheck:
    """The validation of one local label file for one purpose."""

    dataset: str
    file: str
    purpose: str
    report: Any
    """A :class:`reconcile.coco.report.CocoReport`."""


@dataclass(slots=True)
class LocalLabelsReport:
    checks: list[LabelCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.report.valid for c in self.checks)

    @property
    def error_count(self) -> int:
        return len({c.file for c in self.checks if not c.report.valid})

    def lines(self) -> Iterable[str]:
        for c in self.checks:
            head = f"{c.file} ({c.dataset}, {c.purpose})"
            if c.report.valid and not c.report.warnings:
                continue
            yield f"{head}: {'valid with warnings' if c.report.valid else 'INVALID'}"
            for p in c.report.problems:
                yield f"  {p.severity} {p.code}: {p.message} (x{p.count})"
                for ex in p.examples[:3]:
                    yield f"    at {ex.path}: {ex.detail}"


def validate_local_labels(specs: SpecSet, *, api_version: str | None = None) -> LocalLabelsReport:
    """Validate every local COCO file "as it will be after upload", for each purpose it serves."""
    from reconcile.coco.validate import ValidationOptions, validate_file

    report = LocalLabelsReport()
    for name, spec in sorted(specs.datasets.items()):
        for label in spec.labels:
            if label.file is None:
                continue
            for purpose in purposes(specs, name):
                opts = ValidationOptions(kind=spec.annotation_kind, purpose=purpose,
                                         api_version=api_version or specs.api_version, require_urls=False)
                report.checks.append(LabelCheck(name, label.file, purpose, validate_file(specs.root / label.file, opts)))
    return report


@dataclass(frozen=True, slots=True)
class ResolvedLabels:
    labels: dict[str, list[LabelFile]]
    diffs: dict[str, LabelDiffDoc]


def resolve_labels(specs: SpecSet, session: Any, live: LiveState) -> ResolvedLabels:
    """Every dataset's label files with the URIs they will be registered under. Writes nothing."""
    labels: dict[str, list[LabelFile]] = {}
    diffs: dict[str, LabelDiffDoc] = {}
    for name, spec in sorted(specs.datasets.items()):
        files: list[LabelFile] = []
        for label in spec.labels:
            if label.uri is not None:
                files.append(LabelFile(source=label.uri, uri=label.uri, sha256=label.sha256))
            else:
                from reconcile.storage.labels import prepare_local_labels

                prepared = prepare_local_labels(specs.root / label.file, specs.root / label.images if label.images else None,
                                                session.blob_store())
                files.append(LabelFile(source=f"file:{label.file}", uri=prepared.uri, sha256=prepared.sha256,
                                       images=label.images, upload=True))
        labels[name] = files
    return ResolvedLabels(labels=labels, diffs=diffs)


def uploader_for(session: Any) -> Callable[[ResourceChange, LabelFile], None]:
    """The apply hook that uploads one local label file (and its images); idempotent."""

    def upload(change: ResourceChange, label: LabelFile) -> None:
        from reconcile.storage.labels import upload_local_labels

        root = session.config.root
        source = label.source.removeprefix("file:")
        result = upload_local_labels(root / source, root / label.images if label.images else None, session.blob_store())
        if result.uri != label.uri:
            from reconcile.errors import StalePlanError

            raise StalePlanError(
                f"{change.address}: {source} changed since the plan was made (now {result.uri})",
                hint="run `reconcile plan` again and review the new label diff",
            )

    return upload
