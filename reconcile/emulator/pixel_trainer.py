"""The learning trainer: fits :mod:`reconcile.learn` models on a dataset's pixels and labels.

This module adapts the pure learners to the Vision service: it reads and decodes the
dataset's images (:mod:`reconcile.emulator.imageset`, which raises the service's
failure codes), shapes predictions as tags and pixel boxes, and measures the
service's ``ModelPerformance`` from real predictions on real images. The fitted
state is numpy arrays and plain values (:mod:`reconcile.learn.state`), no pickles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reconcile.emulator.imageset import load_image
from reconcile.emulator.judge import RunFailed
from reconcile.emulator.labeled import LabeledData, LabeledImage
from reconcile.emulator.inference import (
    CLASSIFICATION,
    MAX_PREDICTIONS,
    DetectedBox,
    ImageInput,
    Prediction,
    TagScore,
)
from reconcile.learn import metrics, state
from reconcile.learn.classifier import NEEDED_SIDE, ImageClassifier, fit_classifier
from reconcile.learn.detector import ObjectDetector, TrainingImage, fit_detector
from reconcile.learn.pixels import decode

NAME = "pixels"


class PixelModel:
    """A fitted classifier or detector, as the emulator's service uses it."""

    def __init__(self, kind: str, learner: ImageClassifier | ObjectDetector) -> None:
        self.kind = kind
        self.learner = learner

    def to_dict(self) -> dict[str, Any]:
        return {"trainer": NAME, "kind": self.kind, "state": state.pack(self.learner.to_state())}

    # --- prediction ---------------------------------------------------------------

    def predict(self, image: ImageInput) -> Prediction:
        """Tags (classifier) or boxes (detector); raises ``UndecodableImage`` for bad bytes."""
        classifier = isinstance(self.learner, ImageClassifier)
        return self._predict_rgb(decode(image.data, at_least=NEEDED_SIDE if classifier else None))

    def _predict_rgb(self, rgb: np.ndarray) -> Prediction:
        if isinstance(self.learner, ImageClassifier):
            probs = self.learner.predict_proba(rgb)
            order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))[:MAX_PREDICTIONS]
            return Prediction(tags=tuple(TagScore(self.learner.classes[i], _r(probs[i])) for i in order))
        found = self.learner.detect(rgb)
        height, width = rgb.shape[:2]
        objects = []
        for (x, y, w, h), label, score in zip(found.boxes, found.labels, found.scores):
            px = min(width - 1, max(0, int(round(float(x)))))
            py = min(height - 1, max(0, int(round(float(y)))))
            pw = max(1, min(width - px, int(round(float(w)))))
            ph = max(1, min(height - py, int(round(float(h)))))
            objects.append(DetectedBox(px, py, pw, ph, (TagScore(self.learner.classes[int(label)], _r(score)),)))
        return Prediction(objects=tuple(objects))

    # --- evaluation ---------------------------------------------------------------

    def evaluate(self, data: LabeledData) -> dict[str, Any]:
        """``ModelPerformance`` measured on ``data``; raises ``RunFailed`` for an unreadable image."""
        if self.kind == CLASSIFICATION:
            return self._evaluate_classifier(data)
        return self._evaluate_detector(data)

    def _classes_with(self, data: LabeledData) -> list[str]:
        """The model's classes, then test classes it never saw (they score 0 everywhere)."""
        known = list(self.learner.classes)
        return known + [c for c in data.categories if c not in known]

    def _evaluate_classifier(self, data: LabeledData) -> dict[str, Any]:
        assert isinstance(self.learner, ImageClassifier)
        classes = self._classes_with(data)
        labeled = [im for im in data.images if im.labels]
        probs = np.zeros((len(labeled), len(classes)))
        for i, im in enumerate(labeled):
            rgb = load_image(data, im, at_least=NEEDED_SIDE)
            probs[i, : len(self.learner.classes)] = self.learner.predict_proba(rgb)
        truth = [classes.index(im.labels[0].category) for im in labeled]
        s = metrics.classification_scores(probs, truth)
        return {
            "accuracyTop1": _r(s.top1),
            "accuracyTop5": _r(s.top5),
            "averagePrecision": _r(s.average_precision),
            "calibrationECE": _r(s.calibration_ece),
            "tagPerformance": {classes[c]: {"accuracy": _r(a)} for c, a in sorted(s.per_class_accuracy.items())},
        }

    def _evaluate_detector(self, data: LabeledData) -> dict[str, Any]:
        assert isinstance(self.learner, ObjectDetector)
        classes = self._classes_with(data)
        predicted, truth = [], []
        for im in data.images:
            rgb = load_image(data, im)
            found = self.learner.detect(rgb)
            predicted.append(metrics.ImageDetections(found.boxes, found.labels, found.scores))
            height, width = rgb.shape[:2]
            boxes = np.array([lab.bbox for lab in im.labels if lab.bbox], np.float64).reshape(-1, 4)
            truth.append(metrics.ImageDetections(
                boxes * np.array([width, height, width, height]),
                np.array([classes.index(lab.category) for lab in im.labels if lab.bbox], int),
            ))
        ap = {t: metrics.detection_average_precision(predicted, truth, t) for t in (0.3, 0.5, 0.75)}

        def mean(d: dict[int, float]) -> float:
            return _r(sum(d.values()) / len(d)) if d else 0.0

        return {
            "meanAveragePrecision30": mean(ap[0.3]),
            "meanAveragePrecision50": mean(ap[0.5]),
            "meanAveragePrecision75": mean(ap[0.75]),
            "tagPerformance": {classes[c]: {"averagePrecision50": _r(v)} for c, v in sorted(ap[0.5].items())},
        }


class PixelTrainer:
    """Fits :class:`PixelModel` from the pixels; deterministic for a dataset and ``seed``."""

    name = NAME
    inline = False
    """Fitting decodes every image: it runs off the request path."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, data: LabeledData) -> PixelModel:
        """Raises ``RunFailed`` (``datasetNotFound`` / ``datasetCorrupt``) for bad images or no labels."""
        classes = list(data.categories)
        labeled = [im for im in data.images if im.labels]
        if not labeled:
            raise RunFailed("datasetCorrupt", f"The dataset '{data.source}' has no labeled images to learn from.")

        if data.kind == CLASSIFICATION:
            labels = [classes.index(im.labels[0].category) for im in labeled]

            def small(i: int) -> np.ndarray:
                return load_image(data, labeled[i], at_least=NEEDED_SIDE)

            return PixelModel(data.kind, fit_classifier(classes, labels, small, seed=self.seed))

        def load(i: int) -> np.ndarray:
            return load_image(data, labeled[i])

        truth = [_training_boxes(im, classes) for im in labeled]
        if not any(len(t.labels) for t in truth):
            raise RunFailed("datasetCorrupt", f"The dataset '{data.source}' has no boxes to learn from.")
        return PixelModel(data.kind, fit_detector(classes, truth, load, seed=self.seed))

    def load(self, saved: dict[str, Any]) -> PixelModel:
        learner_state = state.unpack(saved["state"])
        if saved["kind"] == CLASSIFICATION:
            return PixelModel(saved["kind"], ImageClassifier.from_state(learner_state))
        return PixelModel(saved["kind"], ObjectDetector.from_state(learner_state))


def _training_boxes(im: LabeledImage, classes: list[str]) -> TrainingImage:
    labs = [lab for lab in im.labels if lab.bbox]
    return TrainingImage(np.array([lab.bbox for lab in labs], np.float64).reshape(-1, 4),
                         np.array([classes.index(lab.category) for lab in labs], int))


def _r(x: float) -> float:
    return round(float(x), 6)
