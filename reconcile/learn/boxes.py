"""Box arithmetic on ``(x, y, w, h)`` arrays: IoU and non-maximum suppression with box fusion."""

from __future__ import annotations

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4): shape (n, m)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1, None], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms_fused(boxes: np.ndarray, scores: np.ndarray, *, suppress: float, fuse: float,
              limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy NMS: keep the best box, drop boxes overlapping it by IoU >= ``suppress``.

    A kept box becomes the score-weighted mean of the boxes overlapping it by IoU >=
    ``fuse`` (neighbouring windows agree on where the object is). Returns at most
    ``limit`` ``(boxes, scores)``, best first; ties broken by input order.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    alive = np.ones(len(boxes), bool)
    out_b, out_s = [], []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        overlap = iou_matrix(boxes[i:i + 1], boxes)[0]
        group = alive & (overlap >= fuse)
        w = scores[group][:, None]
        out_b.append((boxes[group] * w).sum(axis=0) / w.sum())
        out_s.append(scores[i])
        alive &= overlap < suppress
        if len(out_b) == limit:
            break
    if not out_b:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    return np.asarray(out_b, np.float32), np.asarray(out_s, np.float32)
