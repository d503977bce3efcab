"""The figures an AutoML image trial logs, measured on its validation examples.

Keys are AutoML's snake_case MLflow metric names; the primary metric per task is
``accuracy`` (multi-class), ``iou`` (multi-label) and ``mean_average_precision``
(detection, at IoU 0.5). The exact key list of the real service is unknown
(REFERENCE §10.3); these are the documented primary metrics plus common companions.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reconcile.learn import metrics as shared
from reconcile.emulator.azureml.learner import CLASSIFICATION, DETECTION, MULTILABEL, Example, ImagePrediction

PRIMARY = {CLASSIFICATION: "accuracy", MULTILABEL: "iou", DETECTION: "mean_average_precision"}
#: The request's ``primaryMetric`` values and their MLflow keys.
PRIMARY_NAMES = {"Accuracy": "accuracy", "IOU": "iou", "MeanAveragePrecision": "mean_average_precision"}
DETECTION_IOU = 0.5
MULTILABEL_THRESHOLD = 0.5


def _ltwh(b: object) -> tuple[float, float, float, float]:
    return (b.top_x, b.top_y, b.bottom_x - b.top_x, b.bottom_y - b.top_y)  # type: ignore[attr-defined]


def measure(task: str, classes: Sequence[str], examples: Sequence[Example],
            predictions: Sequence[ImagePrediction]) -> dict[str, float]:
    if task == DETECTION:
        return _detection(classes, examples, predictions)
    from sklearn import metrics as sk

    probs = np.array([p.probs for p in predictions], dtype=float)
    truth = np.array([[c in e.labels for c in classes] for e in examples], dtype=int)
    if task == CLASSIFICATION:
        y_true = truth.argmax(axis=1)
        y_pred = probs.argmax(axis=1)
        out = {
            "accuracy": sk.accuracy_score(y_true, y_pred),
            "precision_score_macro": sk.precision_score(y_true, y_pred, average="macro", zero_division=0),
            "recall_score_macro": sk.recall_score(y_true, y_pred, average="macro", zero_division=0),
            "f1_score_macro": sk.f1_score(y_true, y_pred, average="macro", zero_division=0),
            "log_loss": sk.log_loss(y_true, _normalised(probs), labels=list(range(len(classes)))),
        }
    else:
        y_pred = (probs >= MULTILABEL_THRESHOLD).astype(int)
        out = {
            "iou": sk.jaccard_score(truth, y_pred, average="samples", zero_division=0),
            "accuracy": sk.accuracy_score(truth, y_pred),
            "f1_score_macro": sk.f1_score(truth, y_pred, average="macro", zero_division=0),
            "precision_score_macro": sk.precision_score(truth, y_pred, average="macro", zero_division=0),
            "recall_score_macro": sk.recall_score(truth, y_pred, average="macro", zero_division=0),
        }
    return {k: round(float(v), 6) for k, v in out.items()}


def _normalised(probs: np.ndarray) -> np.ndarray:
    """Rows summing to 1 exactly (float32 probabilities are off by rounding; log loss insists)."""
    p = np.clip(probs.astype(np.float64), 1e-9, 1.0)
    return p / p.sum(axis=1, keepdims=True)


def _detection(classes: Sequence[str], examples: Sequence[Example],
               predictions: Sequence[ImagePrediction]) -> dict[str, float]:
    aps, tp_all, fp_all, n_all = [], 0, 0, 0
    for c in classes:
        scores: list[float] = []
        is_tp: list[bool] = []
        n_pos = 0
        for e, p in zip(examples, predictions):
            truths = [_ltwh(b) for b in e.boxes if b.label == c]
            n_pos += len(truths)
            used: set[int] = set()
            for b in sorted((b for b in p.boxes if b.label == c), key=lambda b: -b.score):
                ious = [(shared.iou(_ltwh(b), t), k) for k, t in enumerate(truths) if k not in used]
                best = max(ious, default=(0.0, -1))
                hit = best[0] >= DETECTION_IOU
                if hit:
                    used.add(best[1])
                scores.append(b.score)
                is_tp.append(hit)
        if n_pos:
            aps.append(shared.average_precision(scores, is_tp, n_pos))
        confident = [t for s, t in zip(scores, is_tp) if s >= 0.5]
        tp_all += sum(confident)
        fp_all += len(confident) - sum(confident)
        n_all += n_pos
    return {
        "mean_average_precision": round(float(np.mean(aps)) if aps else 0.0, 6),
        "precision": round(tp_all / (tp_all + fp_all), 6) if tp_all + fp_all else 0.0,
        "recall": round(tp_all / n_all, 6) if n_all else 0.0,
    }
