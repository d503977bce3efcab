"""How good predictions are: classification and detection figures on plain arrays.

Pure functions. Ties in score form one threshold, so results do not depend on the
order of equally scored predictions. Detection matching follows COCO: within an
image, detections in score order each take the unmatched ground-truth box of their
class with the highest IoU at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reconcile.learn.boxes import iou_matrix

#: ``all``: area under the precision envelope at every recall step (VOC 2010+).
#: ``coco101``: mean envelope precision at recalls 0, 0.01, ..., 1 (pycocotools' COCOeval).
INTERPOLATIONS = ("all", "coco101")


def average_precision(scores: Sequence[float], is_tp: Sequence[bool], n_positives: int, *,
                      interpolation: str = "all") -> float:
    """Area under the interpolated precision/recall curve; 0.0 when there are no positives."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}")
    if n_positives <= 0:
        return 0.0
    s = np.asarray(scores, np.float64)
    tp_flags = np.asarray(is_tp, bool)
    order = np.argsort(-s, kind="stable")
    s, tp_flags = s[order], tp_flags[order]
    tp = np.cumsum(tp_flags)
    fp = np.cumsum(~tp_flags)
    # Keep the last point of every tie group: equal scores are one threshold.
    last = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, bool)
    recall = tp[last] / n_positives
    precision = tp[last] / np.maximum(tp[last] + fp[last], 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    if interpolation == "all":
        return float(np.sum(np.diff(np.r_[0.0, recall]) * envelope))
    thresholds = np.linspace(0.0, 1.0, 101)
    idx = np.searchsorted(recall, thresholds, side="left")
    return float(np.mean([envelope[i] if i < len(envelope) else 0.0 for i in idx]))


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """ECE over ``bins`` equal-width confidence bins; 0.0 for no samples."""
    conf = np.asarray(confidences, np.float64)
    ok = np.asarray(correct, np.float64)
    if len(conf) == 0:
        return 0.0
    b = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for k in np.unique(b):
        m = b == k
        total += m.sum() / len(conf) * abs(ok[m].mean() - conf[m].mean())
    return float(total)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(left, top, width, height)`` boxes."""
    return float(iou_matrix(np.asarray(a), np.asarray(b))[0, 0])


@dataclass(frozen=True, slots=True)
class ClassificationScores:
    top1: float
    top5: float
    average_precision: float
    """Mean over the classes present in the truth of one-vs-rest AP."""
    calibration_ece: float
    per_class_accuracy: dict[int, float]
    """Share of each present class's images whose top prediction is that class."""


def classification_scores(probs: np.ndarray, truth: Sequence[int]) -> ClassificationScores:
    """Scores of ``probs`` (n, k) against true class indices; every figure 0.0 for no images."""
    y = np.asarray(truth, int)
    n = len(y)
    if n == 0:
        return ClassificationScores(0.0, 0.0, 0.0, 0.0, {})
    p = np.asarray(probs, np.float64)
    # Rank by score, then class index: deterministic for equal scores.
    ranking = np.lexsort((np.broadcast_to(np.arange(p.shape[1]), p.shape), -p), axis=1)
    top1 = ranking[:, 0] == y
    top5 = (ranking[:, :5] == y[:, None]).any(axis=1)
    present = np.unique(y)
    aps = [average_precision(p[:, c], y == c, int((y == c).sum())) for c in present]
    ece = expected_calibration_error(p[np.arange(n), ranking[:, 0]], top1)
    per_class = {int(c): float(top1[y == c].mean()) for c in present}
    return ClassificationScores(float(top1.mean()), float(top5.mean()), float(np.mean(aps)), ece, per_class)


@dataclass(frozen=True, slots=True)
class ImageDetections:
    """One image's boxes ``(n, 4)`` ``(x, y, w, h)``, class indices and (for predictions) scores."""

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray | None = None


def detection_average_precision(predictions: Sequence[ImageDetections], truth: Sequence[ImageDetections],
                                iou_threshold: float, *, interpolation: str = "all") -> dict[int, float]:
    """AP per class present in ``truth`` at ``iou_threshold`` (same image order in both sequences)."""
    classes = sorted({int(c) for t in truth for c in t.labels})
    result = {}
    for c in classes:
        scores: list[float] = []
        hits: list[bool] = []
        n_pos = 0
        for pred, gt in zip(predictions, truth):
            g = np.asarray(gt.boxes).reshape(-1, 4)[np.asarray(gt.labels) == c]
            n_pos += len(g)
            mask = np.asarray(pred.labels) == c
            if not mask.any():
                continue
            d = np.asarray(pred.boxes).reshape(-1, 4)[mask]
            s = np.asarray(pred.scores)[mask]
            order = np.argsort(-s, kind="stable")
            d, s = d[order], s[order]
            matched = np.zeros(len(g), bool)
            ious = iou_matrix(d, g) if len(g) else np.zeros((len(d), 0))
            for i in range(len(d)):
                cand = np.where(matched, -1.0, ious[i]) if len(g) else np.zeros(0)
                j = int(np.argmax(cand)) if len(cand) else -1
                hit = j >= 0 and cand[j] >= iou_threshold
                if hit:
                    matched[j] = True
                scores.append(float(s[i]))
                hits.append(hit)
        result[c] = average_precision(scores, hits, n_pos, interpolation=interpolation)
    return result
