"""Classification and detection figures; detection AP agrees with pycocotools' COCOeval."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from reconcile.learn import metrics
from reconcile.learn.metrics import ImageDetections


def test_classification_scores_of_known_predictions():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    s = metrics.classification_scores(probs, [0, 1, 1, 2])
    assert s.top1 == 0.75 and s.top5 == 1.0
    assert s.per_class_accuracy == {0: 1.0, 1: 0.5, 2: 1.0}
    # class 0: scores .7 (pos) .1 .5 .2 -> AP 1; class 1: .8 (pos) .3 (pos) vs .2 .2 -> AP 1; class 2: .6 -> 1
    assert s.average_precision == pytest.approx(1.0)
    expected_ece = 0.25 * abs(1 - 0.7) + 0.25 * abs(1 - 0.8) + 0.25 * abs(0 - 0.5) + 0.25 * abs(1 - 0.6)
    assert s.calibration_ece == pytest.approx(expected_ece)


def test_no_images_score_zero():
    s = metrics.classification_scores(np.zeros((0, 3)), [])
    assert (s.top1, s.top5, s.average_precision, s.calibration_ece) == (0.0, 0.0, 0.0, 0.0)


def test_detection_matching_counts_each_truth_box_once():
    truth = [ImageDetections(np.array([[0, 0, 10, 10]]), np.array([0]))]
    # Two detections of the same object: the better one is a hit, the duplicate a false positive.
    preds = [ImageDetections(np.array([[0, 0, 10, 10], [1, 1, 10, 10]]), np.array([0, 0]), np.array([0.9, 0.8]))]
    assert metrics.detection_average_precision(preds, truth, 0.5) == {0: 1.0}
    # The duplicate scored higher than the hit: precision at full recall is 1/2.
    preds = [ImageDetections(np.array([[1, 1, 10, 10], [0, 0, 10, 10]]), np.array([0, 0]), np.array([0.9, 0.8]))]
    assert metrics.detection_average_precision(preds, truth, 0.7)[0] == pytest.approx(0.5)


def _random_case(seed: int) -> tuple[list[ImageDetections], list[ImageDetections]]:
    rng = np.random.default_rng(seed)
    preds, truth = [], []
    for _ in range(12):
        n = int(rng.integers(0, 4))
        gt = np.column_stack([rng.uniform(0, 80, (n, 2)), rng.uniform(8, 30, (n, 2))])
        gl = rng.integers(0, 3, n)
        truth.append(ImageDetections(gt, gl))
        # Predictions: jittered truth boxes (some mislabeled) plus random clutter.
        jitter = gt + rng.normal(0, 2, gt.shape)
        jl = np.where(rng.random(n) < 0.2, rng.integers(0, 3, n), gl)
        k = int(rng.integers(0, 4))
        clutter = np.column_stack([rng.uniform(0, 80, (k, 2)), rng.uniform(8, 30, (k, 2))])
        boxes = np.vstack([jitter, clutter]).reshape(-1, 4)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], 1)
        labels = np.concatenate([jl, rng.integers(0, 3, k)]).astype(int)
        scores = np.concatenate([rng.uniform(0.3, 1, n), rng.uniform(0, 0.7, k)])
        preds.append(ImageDetections(boxes, labels, scores))
    return preds, truth


def _cocoeval(preds, truth, thresholds):
    """Per-class AP from COCOeval (area 'all', maxDets 100) at each IoU threshold."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = [{"id": i + 1, "width": 200, "height": 200} for i in range(len(truth))]
    anns, dets = [], []
    for i, (p, t) in enumerate(zip(preds, truth)):
        for b, c in zip(t.boxes, t.labels):
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                         "bbox": [float(v) for v in b], "area": float(b[2] * b[3]), "iscrowd": 0})
        for b, c, s in zip(p.boxes, p.labels, p.scores):
            dets.append({"image_id": i + 1, "category_id": int(c) + 1, "bbox": [float(v) for v in b],
                         "score": float(s)})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": k + 1, "name": str(k)} for k in range(3)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "bbox")
        ev.params.iouThrs = np.array(thresholds)
        ev.evaluate()
        ev.accumulate()
    # precision[T, R, K, A, M]: area 'all' is A=0, maxDets 100 is the last M.
    out = {}
    for ti, t in enumerate(thresholds):
        per = {}
        for k in range(3):
            p = ev.eval["precision"][ti, :, k, 0, -1]
            if (p > -1).any():
                per[k] = float(np.mean(p[p > -1]))
        out[t] = per
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_detection_ap_agrees_with_cocoeval(seed):
    """With COCO's 101-point interpolation the figures are COCOeval's (to float rounding).

    The service's figures use all-point interpolation (the area under the precision
    envelope); it differs from the 101-point mean only by how recall is sampled, at most
    1/101 per recall step plus the envelope change within a step - here within 0.03.
    """
    pycocotools = pytest.importorskip("pycocotools")
    assert pycocotools
    preds, truth = _random_case(seed)
    thresholds = [0.3, 0.5, 0.75]
    reference = _cocoeval(preds, truth, thresholds)
    for t in thresholds:
        ours = metrics.detection_average_precision(preds, truth, t, interpolation="coco101")
        assert ours.keys() == reference[t].keys()
        for k in ours:
            assert ours[k] == pytest.approx(reference[t][k], abs=1e-9)
        all_point = metrics.detection_average_precision(preds, truth, t)
        for k in all_point:
            assert all_point[k] == pytest.approx(reference[t][k], abs=0.03)
