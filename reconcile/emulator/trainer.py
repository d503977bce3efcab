"""Trainers behind one small interface: the learner that really learns and a fast baseline.

The emulator never invents metrics: ``modelPerformance`` is whatever
``fitted.evaluate(data)`` measures on real evaluation data. Two trainers:

* ``pixels`` (:class:`~reconcile.emulator.pixel_trainer.PixelTrainer`, the default):
  learns from the decoded images and their labels; its fits run off the request path.
* ``prior`` (:class:`PriorTrainer`): an honest baseline for tests that need speed. It
  learns the class prior (and, for detectors, each class's mean box) from the
  annotations and ignores pixels; its scores are what such a baseline achieves.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from reconcile.emulator.inference import (  # the values every trainer's models take and return
    CLASSIFICATION,
    DETECTION,
    MAX_PREDICTIONS,
    DetectedBox,
    ImageInput,
    Prediction,
    TagScore,
)
from reconcile.emulator.labeled import LabeledData

__all__ = [
    "CLASSIFICATION", "DETECTION", "DEFAULT_TRAINER_NAME", "MAX_PREDICTIONS", "TRAINER_NAMES", "DetectedBox",
    "FittedModel", "ImageInput", "Prediction", "PriorModel", "PriorTrainer", "TagScore", "Trainer", "load_model",
    "make_trainer",
]


class FittedModel(Protocol):
    kind: str

    def predict(self, image: ImageInput) -> Prediction: ...

    def evaluate(self, data: LabeledData) -> dict[str, Any]:
        """The service's ``ModelPerformance`` object, measured on ``data``."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


class Trainer(Protocol):
    name: str
    inline: bool
    """True when :meth:`fit` is cheap enough to run on the request path."""

    def fit(self, data: LabeledData) -> FittedModel:
        """Raises :class:`~reconcile.emulator.judge.RunFailed` when the data cannot be learned from."""
        ...

    def load(self, state: dict[str, Any]) -> FittedModel:
        """Rebuild a model from :meth:`FittedModel.to_dict` output."""
        ...


class PriorModel:
    """Predicts the training class frequencies for every image (boxes: each class's mean box)."""

    def __init__(self, kind: str, prior: dict[str, float], boxes: dict[str, list[float]] | None = None) -> None:
        self.kind = kind
        self.prior = prior
        self.boxes = boxes or {}
        self.ranking = sorted(prior, key=lambda n: (-prior[n], n))

    def to_dict(self) -> dict[str, Any]:
        return {"trainer": "prior", "kind": self.kind, "prior": self.prior, "boxes": self.boxes}

    # --- prediction ---------------------------------------------------------------

    def predict(self, image: ImageInput) -> Prediction:
        top = [TagScore(n, round(self.prior[n], 6)) for n in self.ranking[:MAX_PREDICTIONS]]
        if self.kind == CLASSIFICATION:
            return Prediction(tags=tuple(top))
        objects = []
        for tag in top:
            left, top_, w, h = self.boxes[tag.name]
            x = min(image.width - 1, max(0, round(left * image.width)))
            y = min(image.height - 1, max(0, round(top_ * image.height)))
            bw = max(1, min(image.width - x, round(w * image.width)))
            bh = max(1, min(image.height - y, round(h * image.height)))
            objects.append(DetectedBox(x, y, bw, bh, (tag,)))
        return Prediction(objects=tuple(objects))

    # --- evaluation ---------------------------------------------------------------

    def evaluate(self, data: LabeledData) -> dict[str, Any]:
        if self.kind == CLASSIFICATION:
            return self._evaluate_classifier(data)
        return self._evaluate_detector(data)

    def _evaluate_classifier(self, data: LabeledData) -> dict[str, Any]:
        from reconcile.learn import metrics  # numpy: kept out of the CLI's import path

        truths = [im.labels[0].category for im in data.images if im.labels]
        n = len(truths)
        top1 = self.ranking[0] if self.ranking else None
        top5 = set(self.ranking[:5])
        classes = sorted(set(truths))
        ap_per_class = []
        tag_performance: dict[str, dict[str, float]] = {}
        for c in classes:
            score = self.prior.get(c, 0.0)
            positives = [t == c for t in truths]
            ap_per_class.append(metrics.average_precision([score] * n, positives, sum(positives)))
            support = sum(positives)
            tag_performance[c] = {"accuracy": _r(sum(1 for t in truths if t == c and t == top1) / support)}
        conf = self.prior.get(top1, 0.0) if top1 is not None else 0.0
        correct = [t == top1 for t in truths]
        return {
            "accuracyTop1": _r(sum(correct) / n) if n else 0.0,
            "accuracyTop5": _r(sum(t in top5 for t in truths) / n) if n else 0.0,
            "averagePrecision": _r(sum(ap_per_class) / len(ap_per_class)) if ap_per_class else 0.0,
            "calibrationECE": _r(metrics.expected_calibration_error([conf] * n, correct)),
            "tagPerformance": tag_performance,
        }

    def _evaluate_detector(self, data: LabeledData) -> dict[str, Any]:
        from reconcile.learn import metrics

        classes = sorted({lab.category for im in data.images for lab in im.labels})
        results: dict[float, dict[str, float]] = {0.3: {}, 0.5: {}, 0.75: {}}
        for c in classes:
            gts = [[lab.bbox for lab in im.labels if lab.category == c and lab.bbox] for im in data.images]
            n_pos = sum(len(g) for g in gts)
            box = self.boxes.get(c)
            for threshold in results:
                if box is None:
                    results[threshold][c] = 0.0
                    continue
                # One prediction per image (this class's mean box); it matches the best GT box.
                is_tp = [bool(g) and max(metrics.iou(box, b) for b in g) >= threshold for g in gts]
                scores = [self.prior[c]] * len(gts)
                results[threshold][c] = metrics.average_precision(scores, is_tp, n_pos)

        def mean(d: dict[str, float]) -> float:
            return _r(sum(d.values()) / len(d)) if d else 0.0

        return {
            "meanAveragePrecision30": mean(results[0.3]),
            "meanAveragePrecision50": mean(results[0.5]),
            "meanAveragePrecision75": mean(results[0.75]),
            "tagPerformance": {c: {"averagePrecision50": _r(results[0.5][c])} for c in classes},
        }


class PriorTrainer:
    """Fits :class:`PriorModel`: class frequencies of the training labels (and mean boxes)."""

    name = "prior"
    inline = True

    def fit(self, data: LabeledData) -> PriorModel:
        if data.kind == CLASSIFICATION:
            counts = Counter(im.labels[0].category for im in data.images if im.labels)
        else:
            counts = Counter(lab.category for im in data.images for lab in im.labels)
        total = sum(counts.values())
        prior = {name: n / total for name, n in counts.items()} if total else {}
        boxes: dict[str, list[float]] = {}
        if data.kind == DETECTION:
            sums: dict[str, list[float]] = {}
            for im in data.images:
                for lab in im.labels:
                    if lab.bbox:
                        s = sums.setdefault(lab.category, [0.0, 0.0, 0.0, 0.0, 0.0])
                        for k in range(4):
                            s[k] += lab.bbox[k]
                        s[4] += 1
            boxes = {c: [v / s[4] for v in s[:4]] for c, s in sums.items()}
        return PriorModel(data.kind, prior, boxes)

    def load(self, state: dict[str, Any]) -> PriorModel:
        return PriorModel(state["kind"], dict(state["prior"]), dict(state.get("boxes") or {}))


def _r(x: float) -> float:
    return round(float(x), 6)


#: ``--trainer`` choices; the first is the default of the embedded environment and ``emulator serve``.
TRAINER_NAMES = ("pixels", "prior")
DEFAULT_TRAINER_NAME = TRAINER_NAMES[0]


def make_trainer(name: str = DEFAULT_TRAINER_NAME, *, seed: int = 0) -> Trainer:
    """The trainer called ``name`` (one of :data:`TRAINER_NAMES`); ``ValueError`` for another name."""
    if name == "prior":
        return PriorTrainer()
    if name == "pixels":
        from reconcile.emulator.pixel_trainer import PixelTrainer

        return PixelTrainer(seed=seed)
    raise ValueError(f"unknown trainer {name!r} (choose one of {', '.join(TRAINER_NAMES)})")


def load_model(saved: dict[str, Any], current: Trainer) -> FittedModel:
    """Rebuild a stored model with the trainer that fitted it (the state names it)."""
    name = saved.get("trainer", "prior")
    trainer = current if name == current.name else make_trainer(name)
    return trainer.load(saved)
