"""Label files between the specs and the plan: validate, resolve to URIs, upload.

A dataset's labels are blob URIs or local COCO files kept in git. Local files are
content-addressed: the plan computes, without writing anything, the exact URI each
will have once uploaded (from the sha256 of the final, URL-filled bytes); apply
uploads them first, then registers the dataset. The label digest goes into the
dataset's customProperties, so a changed file is a PATCH in the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from reconcile.backends.base import LiveState
from reconcile.plan.normalize import without_query
from reconcile.plan.model import CategoryDelta, LabelDiffDoc, LabelFile, ResourceChange
from reconcile.specs.loader import SpecSet

if TYPE_CHECKING:  # annotation only; labels needs nothing from the session module at run time
    from reconcile.session import Session


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
    """Validate every local COCO file as plan will, for each purpose it serves, without the network.

    Raises :class:`~reconcile.errors.SpecError` for a model budget under the minimum its
    (all-local) training data needs, as plan does.

    Each file is built exactly as plan builds it (:func:`_build`: the label file and
    every image read through :mod:`reconcile.safepath`, within the limits) against
    an offline stand-in for the blob store, then validated with the URLs required,
    as the service will see it. Only the check that needs the real store (image URLs
    under its prefix) is left to plan. A file that cannot be built gets an
    ``E_FILE_READ`` report naming the reason.
    """
    from reconcile.coco.validate import ValidationOptions, validate_bytes
    from reconcile.errors import ReconcileError

    report = LocalLabelsReport()
    store = OfflineStore()
    counts: dict[str, tuple[int, int]] = {}  # dataset -> (images, annotations), when every file is local
    # Datasets often share label files: build (hash the images) and validate each file once per plan.
    builds: dict[tuple[str, str | None], Any] = {}
    reports: dict[tuple[str, str, str], Any] = {}
    for name, spec in sorted(specs.datasets.items()):
        for label in spec.labels:
            if label.file is None:
                counts[name] = (-1, -1)
                continue
            try:
                data = _build(specs.root, label.file, label.images, store).data
            except ReconcileError as exc:
                failed = _read_failure(label.file, exc.message)
                for purpose in purposes(specs, name):
                    report.checks.append(LabelCheck(name, label.file, purpose, failed))
                counts[name] = (-1, -1)
                continue
            for purpose in purposes(specs, name):
                opts = ValidationOptions(kind=spec.annotation_kind, purpose=purpose,
                                         api_version=api_version or specs.api_version,
                                         allowed_schemes=frozenset({"https", "http", "file"}))
                check = validate_bytes(data, opts, label.file)
                report.checks.append(LabelCheck(name, label.file, purpose, check))
            if check.summary is not None and counts.get(name, (0, 0))[0] >= 0:
                images, annotations = counts.get(name, (0, 0))
                counts[name] = (images + check.summary.images, annotations + check.summary.annotations)
    if report.ok:
        check_budgets(specs, {k: v for k, v in counts.items() if v[0] > 0})  # as plan does; raises SpecError
    return report


class OfflineStore:
    """A blob store that only names blobs (``validate`` builds label files without the network)."""

    url_prefix = "https://offline.invalid/vision-gitops/"

    def url(self, name: str) -> str:
        return self.url_prefix + name


def _read_failure(file: str, message: str) -> Any:
    from reconcile.coco.collect import Collector
    from reconcile.coco.report import CocoReport

    c = Collector(1)
    c.add("E_FILE_READ", "$", message)
    return CocoReport(valid=False, problems=c.problems(), summary=None, source=file)


@dataclass(frozen=True, slots=True)
class ResolvedLabels:
    labels: dict[str, list[LabelFile]]
    diffs: dict[str, LabelDiffDoc]


def _validation_options(kind: str, purpose: str, api_version: str, store: Any) -> Any:
    from urllib.parse import urlsplit

    from reconcile.coco.validate import ValidationOptions

    prefix = store.url_prefix
    return ValidationOptions(kind=kind, purpose=purpose, api_version=api_version, storage_prefix=prefix,
                             allowed_schemes=frozenset({"https", urlsplit(prefix).scheme}))


def resolve_labels(specs: SpecSet, session: Session, live: LiveState) -> ResolvedLabels:
    """Every dataset's label files with the URIs they will be registered under. Uploads nothing.

    Local COCO files are built as they will be uploaded (image URLs filled from
    content hashes) and validated for each purpose the dataset serves; an invalid
    file raises :class:`~reconcile.errors.CocoError` naming it, before any write.
    """
    from reconcile.errors import CocoError

    labels: dict[str, list[LabelFile]] = {}
    diffs: dict[str, LabelDiffDoc] = {}
    new_bytes: dict[str, bytes] = {}
    counts: dict[str, tuple[int, int]] = {}  # dataset -> (images, annotations), when every file is local
    # Datasets often share label files: build (hash the images) and validate each file once per plan.
    builds: dict[tuple[str, str | None], Any] = {}
    reports: dict[tuple[str, str, str], Any] = {}
    for name, spec in sorted(specs.datasets.items()):
        files: list[LabelFile] = []
        built: list[tuple[str, bytes]] = []
        for label in spec.labels:
            if label.uri is not None:
                files.append(LabelFile(source=label.uri, uri=label.uri, sha256=label.sha256))
                counts[name] = (-1, -1)
                continue
            assert label.file is not None
            from reconcile.coco.validate import validate_bytes  # numpy: only local files need the validator

            store = session.blob_store()
            if (label.file, label.images) not in builds:
                builds[(label.file, label.images)] = _build(specs.root, label.file, label.images, store)
            build = builds[(label.file, label.images)]
            for purpose in purposes(specs, name):
                if (build.sha256, spec.annotation_kind, purpose) not in reports:
                    reports[(build.sha256, spec.annotation_kind, purpose)] = validate_bytes(
                        build.data, _validation_options(spec.annotation_kind, purpose, specs.api_version, store))
                report = reports[(build.sha256, spec.annotation_kind, purpose)]
                if not report.valid:
                    first = report.errors[0]
                    where = f" at {first.examples[0].path}" if first.examples else ""
                    raise CocoError(
                        f"{label.file} (dataset {name}, {purpose}): {len(report.errors)} kind(s) of error, "
                        f"first: {first.code}: {first.message}{where}",
                        hint=f"see all of them with `reconcile validate` or `reconcile coco validate {label.file} "
                        f"--kind {spec.annotation_kind} --purpose {purpose}`",
                    )
            files.append(LabelFile(source=f"file:{label.file}", uri=build.uri, sha256=build.sha256,
                                   images=label.images, upload=True))
            new_bytes[name] = build.data
            built.append((label.file, build.data))
            if report.summary is not None and counts.get(name, (0, 0))[0] >= 0:
                images, annotations = counts.get(name, (0, 0))
                counts[name] = (images + report.summary.images, annotations + report.summary.annotations)
        if built and len(built) == len(spec.labels):
            # What the service itself needs of the files (e.g. Azure ML's JSONL and MLTable), before any write.
            session.backend.check_labels(name, spec.annotation_kind, built)
        labels[name] = files
        have = live.datasets.get(name)
        if have is not None and [without_query(u) for u in have.label_uris] != [without_query(f.uri) for f in files]:
            diffs[name] = _diff_doc(have.label_uris, files, new_bytes.get(name), spec.annotation_kind,
                                    session)
    check_budgets(specs, {k: v for k, v in counts.items() if v[0] > 0})
    return ResolvedLabels(labels=labels, diffs=diffs)


def check_budgets(specs: SpecSet, counts: dict[str, tuple[int, int]]) -> None:
    """Fail the plan, not the paid run: a budget under the service's minimum for the training
    set's size would end ``failed: notEnoughBudget`` (docs/service-api.md §5). Raises SpecError."""
    from reconcile.api.versions import min_budget_hours
    from reconcile.errors import SpecError

    problems = []
    for name, model in sorted(specs.models.items()):
        if model.training_dataset not in counts:
            continue
        images, annotations = counts[model.training_dataset]
        need = min_budget_hours(model.model_kind, images, annotations / images if images else 1.0)
        if model.budget_hours < need:
            where = specs.source("Model", name, "budgetHours")
            problems.append(f"{where}: budgetHours: {model.budget_hours} h is under the minimum of {need} h that "
                            f"{model.model_kind} needs for {images} training images (the run would fail "
                            f"notEnoughBudget); raise it to at least {need}")
    if problems:
        raise SpecError(f"{len(problems)} model budget(s) too small for their training data", problems=problems)


def _diff_doc(old_uris: Sequence[str], new: Sequence[LabelFile], new_bytes: bytes | None, kind: str,
              session: Session) -> LabelDiffDoc:
    """The semantic label diff of a dataset whose label files change (single-file datasets).

    Never fails the plan: an unreadable old file or a multi-file dataset gets a note instead.
    """
    from reconcile.coco.diff import label_diff
    from reconcile.errors import ReconcileError
    from reconcile.storage.fetch import fetch_label

    if len(old_uris) != 1 or len(new) != 1:
        return LabelDiffDoc(note=f"{len(old_uris)} label file(s) before, {len(new)} after; "
                                 "per-category counts are shown for single-file datasets")
    try:
        store = session.blob_store() if session.config.storage is not None else None
        roots = [session.config.root]
        old_bytes = fetch_label(old_uris[0], store, roots=roots).data
        if new_bytes is None:
            new_bytes = fetch_label(new[0].uri, store, roots=roots).data
        d = label_diff(old_bytes, new_bytes, kind=kind)
    except ReconcileError as exc:
        return LabelDiffDoc(note=f"label diff unavailable: {exc.message}")
    return LabelDiffDoc(
        categories_added=[n for _, n in d.categories_added],
        categories_removed=[n for _, n in d.categories_removed],
        categories_renamed=[(a, b) for _, a, b in d.categories_renamed],
        per_category=[CategoryDelta(name=c.name, images_before=c.images_before, images_after=c.images_after,
                                    boxes_before=c.boxes_before, boxes_after=c.boxes_after) for c in d.per_category],
        images_added=d.images_added,
        images_removed=d.images_removed,
        examples_added=list(d.images_added_examples),
        examples_removed=list(d.images_removed_examples),
    )


def _build(root: Path, file: str, images: str | None, store: Any) -> Any:
    """The local COCO file ``file`` as it will be uploaded (see :func:`build_local_coco`)."""
    from reconcile import safepath
    from reconcile.limits import LABEL_FILE_BYTES
    from reconcile.storage.upload import build_local_coco

    data = safepath.read(safepath.resolve(file, root, want="file", what="label file"), [root], LABEL_FILE_BYTES, file)
    folder = safepath.resolve(images, root, want="dir", what="image folder") if images else None
    return build_local_coco(data, folder, store, source=file, roots=[root])


class LabelUploader:
    """Publishes the plan's local label files for apply, after checking all of them first.

    :meth:`check` rebuilds a file as it would be uploaded and raises
    :class:`~reconcile.errors.StalePlanError` if it differs from the reviewed one (its
    content-addressed URI would differ); the executor calls it for every file of the
    plan before its first write. :meth:`upload` then sends the checked bytes (and
    images), content-addressed and idempotent, without reading the file again.
    """

    def __init__(self, session: Session) -> None:
        import threading

        self._session = session
        self._built: dict[tuple[str, str], Any] = {}
        self._by_source: dict[tuple[str, str | None], Any] = {}
        self._uploaded: set[str] = set()
        # One label file's images at a time (each upload is itself parallel): a terminal shows
        # one progress bar at once, and dataset changes run concurrently.
        self._one_at_a_time = threading.Lock()

    def check(self, change: ResourceChange, label: LabelFile) -> None:
        from reconcile.errors import StalePlanError

        store = self._session.blob_store()
        source = label.source.removeprefix("file:")
        # Many datasets may share one file: it is read and its images hashed once per apply.
        build = self._by_source.get((source, label.images))
        if build is None:
            build = self._by_source[(source, label.images)] = _build(self._session.config.root, source,
                                                                     label.images, store)
        if build.uri != label.uri:
            raise StalePlanError(
                f"{change.address}: {source} changed since the plan was made",
                hint="run `reconcile plan` again and review the new label diff",
            )
        self._built[(change.address, label.uri)] = build

    def upload(self, change: ResourceChange, label: LabelFile) -> None:
        from reconcile.storage.upload import upload_local_coco

        key = (change.address, label.uri)
        if key not in self._built:
            self.check(change, label)
        with self._one_at_a_time:
            if label.uri in self._uploaded:  # the same content, already sent by this apply
                return
            upload_local_coco(self._session.blob_store(), self._built[key], progress=None)
            self._uploaded.add(label.uri)


#: Seconds to wait for one label file while probing for drift (a slow blob only costs a warning).
PROBE_TIMEOUT = 20.0


def probe_label_digests(session: Session, labels: Mapping[str, Sequence[LabelFile]], live: LiveState,
                        warnings: list[str]) -> dict[str, str]:
    """sha256 of the bytes behind every label URI the specs or the live datasets use (read-only).

    Content-addressed uploads are known without reading; other URIs are fetched
    (:func:`reconcile.storage.fetch.fetch_label`). A URI that cannot be read is
    left out (its drift is unknown) and named in ``warnings``.
    """
    from reconcile.errors import ReconcileError
    from reconcile.storage.fetch import fetch_label

    shas: dict[str, str] = {}
    uris: set[str] = set()
    for files in labels.values():
        for lf in files:
            if lf.upload and lf.sha256:
                shas[lf.uri] = lf.sha256
            else:
                uris.add(lf.uri)
    for name in labels:
        if name in live.datasets:
            uris.update(live.datasets[name].label_uris)
    try:
        store = session.blob_store()
    except ReconcileError:
        store = None

    def digest(uri: str) -> tuple[str, str | None, str | None]:
        try:
            return uri, fetch_label(uri, store, timeout=PROBE_TIMEOUT, roots=[session.config.root]).sha256, None
        except ReconcileError as exc:
            return uri, None, f"cannot read {uri.split('?', 1)[0]} to check it for drift: {exc.message}"

    todo = sorted(uris - set(shas))
    if todo:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(todo)), thread_name_prefix="probe") as pool:
            for uri, sha, problem in pool.map(digest, todo):
                if sha is not None:
                    shas[uri] = sha
                else:
                    warnings.append(problem or uri)
    return shas
