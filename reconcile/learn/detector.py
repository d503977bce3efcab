"""Object detection: windows at the box shapes seen in training, scored by a learned
classifier (background + classes), then non-maximum suppression.

:func:`fit_detector` learns

* the window shapes (*anchors*): clusters of the training boxes' aspect ratios, each
  at a ladder of sizes spanning the training boxes' sizes (relative to the image);
* a calibrated linear classifier (:mod:`reconcile.learn.linear`) of window features
  (:func:`reconcile.learn.features.window_grid`): windows that overlap a training box
  well are that box's class, windows that barely touch any box are background. A
  second pass adds the background windows the first model scored highest (hard
  negatives);
* a ridge regression from a window's features to the offset of the training box it
  overlaps (box refinement: windows sit on a grid, objects do not).

:meth:`ObjectDetector.detect` slides every anchor over the image, keeps windows whose
best class beats :data:`MIN_SCORE`, refines their boxes, and merges overlapping
windows per class (then across classes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reconcile.learn.boxes import iou_matrix, nms_fused
from reconcile.learn.features import as_pil, patch_features, window_grid
from reconcile.learn.linear import FusedModel, fit_fused

KIND = "detector"
VERSION = 2

MAX_ASPECTS = 3
#: Neighbouring anchor sizes differ by this factor (a box between two still overlaps one by IoU >= 0.7).
SIZE_STEP = 2 ** (1 / 2)
MAX_ANCHORS = 8
POSITIVE_IOU = 0.55
#: Windows overlapping a box this much teach the box refinement.
REFINE_IOU = 0.45
REFINE_ALPHA = 10.0
NEGATIVE_IOU = 0.3
NEGATIVES_PER_IMAGE = 30
HARD_NEGATIVES_PER_IMAGE = 15
MIN_SCORE = 0.05
MAX_DETECTIONS = 30
SUPPRESS_IOU = 0.3
FUSE_IOU = 0.55
#: A box of another class overlapping a better box this much is the same object, mislabeled.
CROSS_CLASS_IOU = 0.45
#: Fixed regularisation: detection scores rank windows, and a search would cost most of the fit.
DETECTOR_C = 0.03


@dataclass(frozen=True, slots=True)
class Detections:
    """Boxes ``(n, 4)`` as ``(x, y, w, h)`` in pixels, class indices ``(n,)`` and scores ``(n,)``, best first."""

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True, slots=True)
class TrainingImage:
    """Boxes ``(n, 4)`` ``(left, top, width, height)`` relative to the image (0..1) and their class indices."""

    boxes: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True, slots=True)
class BoxRefiner:
    """``(dx, dy, log dw, log dh) = ((features - mean) / scale) @ coef + intercept``, relative to the window."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def refine(self, feats: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if not len(boxes):
            return boxes
        d = ((feats - self.mean) / self.scale) @ self.coef + self.intercept
        d[:, 2:] = np.clip(d[:, 2:], -0.7, 0.7)
        out = np.empty_like(boxes)
        out[:, 0] = boxes[:, 0] + d[:, 0] * boxes[:, 2]
        out[:, 1] = boxes[:, 1] + d[:, 1] * boxes[:, 3]
        out[:, 2] = boxes[:, 2] * np.exp(d[:, 2])
        out[:, 3] = boxes[:, 3] * np.exp(d[:, 3])
        return out

    def to_state(self) -> dict:
        return {"mean": self.mean, "scale": self.scale, "coef": self.coef, "intercept": self.intercept}

    @classmethod
    def from_state(cls, s: dict) -> "BoxRefiner":
        return cls(*(np.asarray(s[k], np.float32) for k in ("mean", "scale", "coef", "intercept")))


def fit_refiner(feats: np.ndarray, windows: np.ndarray, targets: np.ndarray) -> BoxRefiner:
    """Ridge regression of the offsets from ``windows`` to their ``targets`` boxes (identity when too few)."""
    d = feats.shape[1] if feats.ndim == 2 else 0
    if len(feats) < 10:
        z = np.zeros(d, np.float32)
        return BoxRefiner(z, np.ones(d, np.float32), np.zeros((d, 4), np.float32), np.zeros(4, np.float32))
    x = np.asarray(feats, np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    w, t = windows.astype(np.float64), targets.astype(np.float64)
    y = np.column_stack([(t[:, 0] - w[:, 0]) / w[:, 2], (t[:, 1] - w[:, 1]) / w[:, 3],
                         np.log(t[:, 2] / w[:, 2]), np.log(t[:, 3] / w[:, 3])])
    y_mean = y.mean(axis=0)
    coef = np.linalg.solve(z.T @ z + REFINE_ALPHA * np.eye(z.shape[1]), z.T @ (y - y_mean))
    f32 = np.float32
    return BoxRefiner(mean.astype(f32), scale.astype(f32), coef.astype(f32), y_mean.astype(f32))


@dataclass(frozen=True, slots=True)
class ObjectDetector:
    classes: tuple[str, ...]
    anchors: np.ndarray
    """``(k, 2)`` window (width, height) relative to the image."""
    model: FusedModel
    """Classes: 0 = background, then :attr:`classes` in order."""
    refiner: BoxRefiner

    def detect(self, rgb: np.ndarray) -> Detections:
        feats, boxes = _windows(rgb, self.anchors)
        out_b, out_l, out_s = [], [], []
        if len(boxes):
            probs = self.model.predict_proba([feats])
            labels = probs[:, 1:].argmax(axis=1)
            scores = probs[np.arange(len(probs)), labels + 1]
            candidates = scores >= MIN_SCORE
            refined = np.zeros_like(boxes)
            refined[candidates] = self.refiner.refine(feats[candidates], boxes[candidates])
            for c in range(len(self.classes)):
                keep = (labels == c) & candidates
                b, s = nms_fused(refined[keep], scores[keep], suppress=SUPPRESS_IOU, fuse=FUSE_IOU,
                                 limit=MAX_DETECTIONS)
                out_b.append(b)
                out_s.append(s)
                out_l.append(np.full(len(s), c))
        if not out_b:
            return Detections(np.zeros((0, 4), np.float32), np.zeros(0, int), np.zeros(0, np.float32))
        b, l, s = np.concatenate(out_b), np.concatenate(out_l), np.concatenate(out_s)
        order = np.lexsort((l, -s))
        b, l, s = b[order], l[order], s[order]
        keep: list[int] = []
        overlap = iou_matrix(b, b)
        for i in range(len(b)):
            if all(overlap[i, j] < CROSS_CLASS_IOU for j in keep):
                keep.append(i)
            if len(keep) == MAX_DETECTIONS:
                break
        return Detections(_clip(b[keep], rgb.shape[1], rgb.shape[0]), l[keep], s[keep])

    def to_state(self) -> dict:
        return {"learner": KIND, "version": VERSION, "classes": list(self.classes), "anchors": self.anchors,
                "model": self.model.to_state(), "refiner": self.refiner.to_state()}

    @classmethod
    def from_state(cls, s: dict) -> "ObjectDetector":
        if s.get("learner") != KIND or s.get("version") != VERSION:
            raise ValueError(f"not a version-{VERSION} detector state")
        return cls(tuple(s["classes"]), np.asarray(s["anchors"], np.float32), FusedModel.from_state(s["model"]),
                   BoxRefiner.from_state(s["refiner"]))


def learn_anchors(relative_sizes: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Window shapes ``(k, 2)`` (relative width, height) covering the training boxes' shapes and sizes."""
    from sklearn.cluster import KMeans

    sizes = np.clip(np.asarray(relative_sizes, np.float64).reshape(-1, 2), 1e-3, 1.0)
    log_aspect = np.log(sizes[:, 0] / sizes[:, 1])
    k = min(MAX_ASPECTS, len(np.unique(np.round(log_aspect, 2))))
    if k > 1:
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(log_aspect[:, None])
        aspects, members = km.cluster_centers_[:, 0], km.labels_
    else:
        aspects, members = np.array([np.median(log_aspect)]), np.zeros(len(sizes), int)
    anchors = []
    step = SIZE_STEP
    for a in range(len(aspects)):
        side = np.sqrt(sizes[members == a, 0] * sizes[members == a, 1])
        lo, hi = np.percentile(side, 3), np.percentile(side, 97)
        n = max(1, int(np.ceil(np.log(hi / lo) / np.log(step) + 1e-9)) + 1)
        ladder = np.exp(np.linspace(np.log(lo), np.log(hi), n)) if n > 1 else np.array([np.sqrt(lo * hi)])
        r = np.exp(aspects[a] / 2)
        anchors += [(s * r, s / r) for s in ladder]
    anchors_arr = np.unique(np.round(np.clip(np.asarray(anchors), 1e-3, 1.0), 4), axis=0)
    if len(anchors_arr) > MAX_ANCHORS:  # keep an even spread of sizes
        pick = np.round(np.linspace(0, len(anchors_arr) - 1, MAX_ANCHORS)).astype(int)
        anchors_arr = anchors_arr[np.unique(pick)]
    return anchors_arr.astype(np.float32)


def fit_detector(classes: Sequence[str], truth: Sequence[TrainingImage], load: Callable[[int], np.ndarray], *,
                 seed: int = 0) -> ObjectDetector:
    """Fit on ``len(truth)`` images; ``load(i)`` returns image ``i`` (read twice: two passes).

    Raises ``ValueError`` when there are no training boxes.
    """
    rng = np.random.default_rng(seed)
    rel = [b[2:4] for t in truth for b in np.asarray(t.boxes).reshape(-1, 4)]
    if not rel:
        raise ValueError("no training boxes")
    anchors = learn_anchors(np.asarray(rel), seed=seed)
    rows, ys, groups = [], [], []
    refine_rows: list = []
    refine_windows: list = []
    refine_targets: list = []

    def add(feats: np.ndarray, labels: np.ndarray, image: int) -> None:
        rows.append(feats)
        ys.append(labels)
        groups.append(np.full(len(labels), image))

    for i, t in enumerate(truth):
        rgb = load(i)
        t = _in_pixels(t, rgb.shape)
        for b, label in zip(t.boxes, t.labels):
            x, y, w, h = _pixel_box(b, rgb.shape)
            crop = rgb[y:y + h, x:x + w]
            add(np.stack([patch_features(crop), patch_features(crop[:, ::-1])]), np.full(2, label + 1), i)
        feats, boxes = _windows(rgb, anchors)
        if not len(feats):
            continue
        best, cls, match = _best_overlap(boxes, t)
        pos = best >= POSITIVE_IOU
        add(feats[pos], cls[pos] + 1, i)
        near = best >= REFINE_IOU
        refine_rows.append(feats[near])
        refine_windows.append(boxes[near])
        refine_targets.append(t.boxes[match[near]] if len(t.boxes) else np.zeros((0, 4)))
        neg = np.flatnonzero(best < NEGATIVE_IOU)
        pick = rng.choice(neg, size=min(NEGATIVES_PER_IMAGE, len(neg)), replace=False) if len(neg) else neg
        add(feats[np.sort(pick)], np.zeros(len(pick), int), i)
    model = _fit(rows, ys, groups, len(classes), seed)
    # Second pass: the background windows the first model mistakes most for objects.
    for i, t in enumerate(truth):
        rgb = load(i)
        feats, boxes = _windows(rgb, anchors)
        if not len(feats):
            continue
        best, _, _ = _best_overlap(boxes, _in_pixels(t, rgb.shape))
        neg = np.flatnonzero(best < NEGATIVE_IOU)
        if not len(neg):
            continue
        objectness = 1.0 - model.predict_proba([feats[neg]])[:, 0]
        hard = neg[np.argsort(-objectness, kind="stable")[:HARD_NEGATIVES_PER_IMAGE]]
        add(feats[np.sort(hard)], np.zeros(len(hard), int), i)
    model = _fit(rows, ys, groups, len(classes), seed)
    refiner = fit_refiner(np.concatenate(refine_rows), np.concatenate(refine_windows), np.concatenate(refine_targets))
    return ObjectDetector(tuple(classes), anchors, model, refiner)


def _fit(rows: list, ys: list, groups: list, n_classes: int, seed: int) -> FusedModel:
    return fit_fused([np.concatenate(rows)], np.concatenate(ys), n_classes + 1, groups=np.concatenate(groups),
                     seed=seed, search=False, c=DETECTOR_C)


def _in_pixels(t: TrainingImage, shape: tuple[int, ...]) -> TrainingImage:
    height, width = shape[:2]
    boxes = np.asarray(t.boxes, np.float64).reshape(-1, 4) * np.array([width, height, width, height])
    return TrainingImage(boxes, np.asarray(t.labels, int))


def _windows(rgb: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = rgb.shape[:2]
    source = as_pil(rgb)
    feats, boxes = [], []
    for aw, ah in anchors:
        grid = window_grid(source, float(aw) * width, float(ah) * height)
        if grid is not None:
            feats.append(grid.features)
            boxes.append(grid.boxes)
    if not feats:
        return np.zeros((0, 0), np.float32), np.zeros((0, 4), np.float32)
    return np.concatenate(feats), np.concatenate(boxes)


def _best_overlap(boxes: np.ndarray, truth: TrainingImage) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window: the best IoU with a truth box, that box's class and its index."""
    if not len(truth.boxes):
        zeros = np.zeros(len(boxes), int)
        return np.zeros(len(boxes)), zeros, zeros
    m = iou_matrix(boxes, truth.boxes)
    j = m.argmax(axis=1)
    return m[np.arange(len(boxes)), j], np.asarray(truth.labels)[j], j


def _pixel_box(b: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    height, width = shape[:2]
    x = int(np.clip(np.floor(b[0]), 0, width - 1))
    y = int(np.clip(np.floor(b[1]), 0, height - 1))
    w = int(np.clip(np.ceil(b[0] + b[2]) - x, 1, width - x))
    h = int(np.clip(np.ceil(b[1] + b[3]) - y, 1, height - y))
    return x, y, w, h


def _clip(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    x1 = np.clip(boxes[:, 0], 0, width)
    y1 = np.clip(boxes[:, 1], 0, height)
    x2 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y2 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1).astype(np.float32)
