"""The image classifier learns shapes from pixels, gives calibrated sorted probabilities, and is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from reconcile.learn import state
from reconcile.learn.classifier import ImageClassifier, fit_classifier
from tests.learn.images import shape_set

CLASSES = ("circle", "square", "triangle")


def _fit(n: int = 6, seed: int = 0) -> tuple[ImageClassifier, list[np.ndarray]]:
    images, labels = shape_set(n, seed=1)
    return fit_classifier(CLASSES, labels, lambda i: images[i], seed=seed), images


@pytest.fixture(scope="module")
def fitted() -> tuple[ImageClassifier, list[np.ndarray]]:
    return _fit()


def test_separates_clearly_different_classes_on_new_images(fitted):
    model, _ = fitted
    test, truth = shape_set(10, seed=99)
    predicted = [int(np.argmax(model.predict_proba(im))) for im in test]
    accuracy = np.mean(np.array(predicted) == np.array(truth))
    assert accuracy >= 0.8  # the class prior would give 1/3


def test_probabilities_cover_every_class_and_sum_to_one(fitted):
    model, images = fitted
    p = model.predict_proba(images[0])
    assert p.shape == (3,) and abs(float(p.sum()) - 1) < 1e-5 and (p >= 0).all()


def test_same_data_and_seed_give_the_same_model(fitted):
    a, images = fitted
    b, _ = _fit()
    assert state.pack(a.to_state()) == state.pack(b.to_state())
    assert np.array_equal(a.predict_proba(images[1]), b.predict_proba(images[1]))


def test_state_round_trip_predicts_the_same(fitted):
    model, images = fitted
    saved = state.pack(model.to_state())
    back = ImageClassifier.from_state(state.unpack(saved))
    assert np.allclose(back.predict_proba(images[2]), model.predict_proba(images[2]))


def test_a_class_without_images_gets_no_probability():
    images, labels = shape_set(4, seed=3)
    keep = [i for i, y in enumerate(labels) if y != 2]
    model = fit_classifier(CLASSES, [labels[i] for i in keep], lambda i: images[keep[i]])
    assert model.predict_proba(images[2])[2] < 1e-6


def test_one_class_only_predicts_that_class():
    images, labels = shape_set(2, seed=4)
    model = fit_classifier(("only",), [0] * len(images), lambda i: images[i])
    assert model.predict_proba(images[0]).tolist() == [1.0]
