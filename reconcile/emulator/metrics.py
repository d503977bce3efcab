"""Metric primitives the trainer reports: average precision, expected calibration error, IoU.

Pure functions on plain sequences. Ties in score are one threshold (so results do
not depend on the order of equally scored predictions).
"""

from __future__ import annotations

from collections.abc import Sequence


def average_precision(scores: Sequence[float], is_tp: Sequence[bool], n_positives: int) -> float:
    """Area under the interpolated precision/recall curve (VOC all-point), 0.0 when no positives."""
    if n_positives <= 0:
        return 0.0
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    points: list[tuple[float, float]] = []  # (recall, precision) after each tie group
    tp = fp = 0
    i = 0
    while i < len(order):
        s = scores[order[i]]
        while i < len(order) and scores[order[i]] == s:
            if is_tp[order[i]]:
                tp += 1
            else:
                fp += 1
            i += 1
        points.append((tp / n_positives, tp / (tp + fp)))
    ap = 0.0
    prev_recall = 0.0
    for k, (recall, _p) in enumerate(points):
        envelope = max(p for _r, p in points[k:])
        ap += (recall - prev_recall) * envelope
        prev_recall = recall
    return ap


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """ECE over ``bins`` equal-width confidence bins; 0.0 for no samples."""
    n = len(confidences)
    if n == 0:
        return 0.0
    sums: dict[int, list[float]] = {}
    for conf, ok in zip(confidences, correct):
        b = min(bins - 1, int(conf * bins))
        acc = sums.setdefault(b, [0.0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += conf
        acc[2] += 1.0 if ok else 0.0
    return sum(c / n * abs(a / c - s / c) for c, s, a in sums.values())


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(left, top, width, height)`` boxes."""
    ax2, ay2 = a[0] + a[2], a[1] + a[3]
    bx2, by2 = b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
