"""The shared learners (:mod:`reconcile.learn`) behind the AutoML job seam (:mod:`.learner`).

* multi-class classification: one :class:`~reconcile.learn.classifier.ImageClassifier`;
* multi-label: one binary classifier per label (present / absent; a label present in
  every or no training image gets a constant probability), each label's probability
  independent of the others, as AutoML's multi-label answers are;
* object detection: one :class:`~reconcile.learn.detector.ObjectDetector`; its pixel
  ``(x, y, w, h)`` boxes become AutoML's normalised corners.

The fitted state is JSON of numpy arrays and plain values (:mod:`reconcile.learn.state`),
never a pickle, so a stored model can be loaded without trusting it.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from reconcile.emulator.azureml.learner import CLASSIFICATION, DETECTION, MULTILABEL, Box, Example, ImagePrediction
from reconcile.learn import state
from reconcile.learn.classifier import ImageClassifier, fit_classifier
from reconcile.learn.detector import ObjectDetector, TrainingImage, fit_detector

NAME = "pixels"


class PixelModel:
    def __init__(self, task: str, classes: tuple[str, ...],
                 parts: list[ImageClassifier | ObjectDetector | float]) -> None:
        self.task = task
        self.classes = classes
        self.parts = parts
        """One classifier or detector; for multi-label one binary classifier (or constant) per class."""

    def predict(self, images: Sequence[np.ndarray]) -> list[ImagePrediction]:
        return [self._one(rgb) for rgb in images]

    def _one(self, rgb: np.ndarray) -> ImagePrediction:
        if self.task == CLASSIFICATION:
            clf = self.parts[0]
            assert isinstance(clf, ImageClassifier)
            return ImagePrediction(probs=tuple(float(p) for p in clf.predict_proba(rgb)))
        if self.task == MULTILABEL:
            return ImagePrediction(probs=tuple(
                float(p.predict_proba(rgb)[1]) if isinstance(p, ImageClassifier) else float(p) for p in self.parts))
        det = self.parts[0]
        assert isinstance(det, ObjectDetector)
        found = det.detect(rgb)
        height, width = rgb.shape[:2]
        boxes = []
        for (x, y, w, h), label, score in zip(found.boxes, found.labels, found.scores):
            corners = np.clip([x / width, y / height, (x + w) / width, (y + h) / height], 0.0, 1.0)
            boxes.append(Box(self.classes[int(label)], *(float(v) for v in corners), score=float(score)))
        return ImagePrediction(boxes=tuple(boxes))

    def to_bytes(self) -> bytes:
        parts = [p if isinstance(p, float) else state.pack(p.to_state()) for p in self.parts]
        return json.dumps({"learner": NAME, "task": self.task, "classes": list(self.classes),
                           "parts": parts}).encode()


class PixelLearner:
    def trial_settings(self, k: int) -> dict[str, Any]:
        return {"seed": k}

    def fit(self, task: str, classes: Sequence[str], examples: Sequence[Example],
            settings: dict[str, Any]) -> PixelModel:
        """Raises ``ValueError`` when the examples cannot teach the task (no images, no boxes)."""
        seed = int(settings.get("seed", 0))
        names = tuple(classes)

        def load(i: int) -> np.ndarray:
            return examples[i].pixels

        if task == CLASSIFICATION:
            labels = [names.index(e.labels[0]) for e in examples]
            return PixelModel(task, names, [fit_classifier(names, labels, load, seed=seed)])
        if task == MULTILABEL:
            parts: list[ImageClassifier | ObjectDetector | float] = []
            for c in names:
                present = [int(c in e.labels) for e in examples]
                if 0 < sum(present) < len(present):
                    parts.append(fit_classifier(("absent", "present"), present, load, seed=seed))
                else:  # nothing to contrast with: the label's training frequency
                    parts.append(float(sum(present) / len(present)))
            return PixelModel(task, names, parts)
        if task != DETECTION:
            raise ValueError(f"task {task} is not learnable here")
        truth = [TrainingImage(
            np.array([[b.top_x, b.top_y, b.bottom_x - b.top_x, b.bottom_y - b.top_y] for b in e.boxes],
                     np.float32).reshape(-1, 4),
            np.array([names.index(b.label) for b in e.boxes], int)) for e in examples]
        return PixelModel(task, names, [fit_detector(names, truth, load, seed=seed)])

    def load(self, data: bytes) -> PixelModel:
        doc = json.loads(data)
        if doc.get("learner") != NAME:
            raise ValueError("not a stored pixel-learner model")
        task, classes = doc["task"], tuple(doc["classes"])
        parts: list[ImageClassifier | ObjectDetector | float] = []
        for p in doc["parts"]:
            if isinstance(p, float):
                parts.append(p)
            elif task == DETECTION:
                parts.append(ObjectDetector.from_state(state.unpack(p)))
            else:
                parts.append(ImageClassifier.from_state(state.unpack(p)))
        return PixelModel(task, classes, parts)
