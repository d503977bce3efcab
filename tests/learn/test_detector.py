"""The detector finds a known object at a known place; anchors follow the training boxes; it is deterministic."""

from __future__ import annotations

import numpy as np

from reconcile.learn import state
from reconcile.learn.boxes import iou_matrix
from reconcile.learn.detector import ObjectDetector, TrainingImage, fit_detector, learn_anchors
from tests.learn.images import square_scene

SIZE = 64


def _training(n: int = 10) -> tuple[list[np.ndarray], list[TrainingImage]]:
    rng = np.random.default_rng(7)
    images, truth = [], []
    for i in range(n):
        side = int(rng.integers(14, 20))
        x, y = (int(v) for v in rng.integers(0, SIZE - side, 2))
        images.append(square_scene(SIZE, (x, y, side, side), seed=i))
        truth.append(TrainingImage(np.array([[x / SIZE, y / SIZE, side / SIZE, side / SIZE]]), np.array([0])))
    return images, truth


def _fit(seed: int = 0) -> ObjectDetector:
    images, truth = _training()
    return fit_detector(("square",), truth, lambda i: images[i], seed=seed)


def test_finds_a_known_object_at_a_known_place():
    model = _fit()
    box = (30, 12, 17, 17)
    found = model.detect(square_scene(SIZE, box, seed=123))
    assert len(found.boxes) >= 1
    assert found.labels[0] == 0 and found.scores[0] > 0.5
    assert iou_matrix(found.boxes[:1], np.array([box]))[0, 0] >= 0.5


def test_an_empty_scene_scores_low():
    model = _fit()
    rng = np.random.default_rng(5)
    empty = np.clip(rng.normal(0.45, 0.08, (SIZE, SIZE, 1)).repeat(3, axis=2), 0, 1).astype(np.float32)
    found = model.detect(empty)
    assert len(found.scores) == 0 or found.scores.max() < 0.5


def test_anchors_span_the_training_box_sizes():
    sizes = np.array([[0.1, 0.1], [0.2, 0.2], [0.4, 0.4], [0.3, 0.15]])
    anchors = learn_anchors(sizes)
    areas = np.sqrt(anchors[:, 0] * anchors[:, 1])
    assert areas.min() <= 0.11 and areas.max() >= 0.36
    assert any(a[0] / a[1] > 1.5 for a in anchors)  # the wide box shape has its own anchors


def test_same_data_and_seed_give_the_same_model_and_state_round_trips():
    a, b = _fit(), _fit()
    assert state.pack(a.to_state()) == state.pack(b.to_state())
    back = ObjectDetector.from_state(state.unpack(state.pack(a.to_state())))
    scene = square_scene(SIZE, (5, 40, 16, 16), seed=9)
    assert np.allclose(back.detect(scene).boxes, a.detect(scene).boxes)
