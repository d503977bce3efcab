"""The seam between AutoML jobs and whatever learns from pixels.

A job hands the learner decoded examples of one task and gets back a fitted model
that predicts per image and serializes to bytes (stored with the job, loaded again
by scoring). Two learners sit behind it:

* :class:`~reconcile.emulator.azureml.pixel_learner.PixelLearner` (the default): the
  project's shared learners (:mod:`reconcile.learn`), fitted with cross-validation;
* :class:`CentroidLearner` (here): class centroids of coarse colour-layout features.
  It too learns from the pixels, in milliseconds, which is what most tests need; its
  figures are honest for what it is, and weak on real photographs.

Pixels are ``float32`` RGB in 0..1 (:func:`reconcile.learn.pixels.decode`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

CLASSIFICATION = "ImageClassification"
MULTILABEL = "ImageClassificationMultilabel"
DETECTION = "ImageObjectDetection"
TASKS = (CLASSIFICATION, MULTILABEL, DETECTION)


@dataclass(frozen=True, slots=True)
class Box:
    """Normalised corners in [0, 1] (AutoML's JSONL and scoring format)."""

    label: str
    top_x: float
    top_y: float
    bottom_x: float
    bottom_y: float
    score: float = 1.0


@dataclass(frozen=True, slots=True)
class Example:
    pixels: np.ndarray
    """H x W x 3 float32 RGB in 0..1."""
    labels: tuple[str, ...] = ()
    """Classification: one label; multi-label: any number; detection: the labels of ``boxes``."""
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True, slots=True)
class ImagePrediction:
    probs: tuple[float, ...] = ()
    """One probability per class of :attr:`FittedModel.classes` (classification tasks)."""
    boxes: tuple[Box, ...] = ()
    """Detection only, best first."""


class FittedModel(Protocol):
    task: str
    classes: tuple[str, ...]

    def predict(self, images: Sequence[np.ndarray]) -> list[ImagePrediction]: ...

    def to_bytes(self) -> bytes: ...


class Learner(Protocol):
    def trial_settings(self, k: int) -> dict[str, Any]:
        """Trial ``k``'s hyperparameters (trials of one job must differ; logged as the child run's params)."""
        ...

    def fit(self, task: str, classes: Sequence[str], examples: Sequence[Example],
            settings: dict[str, Any]) -> FittedModel:
        """Fit on ``examples`` (non-empty); ``settings`` are the trial's hyperparameters."""
        ...

    def load(self, data: bytes) -> FittedModel:
        """Rebuild a model from :meth:`FittedModel.to_bytes`."""
        ...


def decode_image(data: bytes) -> np.ndarray:
    """RGB pixels (float32, 0..1) of a JPEG/PNG/GIF/BMP; ``ValueError`` (naming the problem) otherwise."""
    from reconcile.learn.pixels import decode

    return decode(data)


# --- the fast learner ----------------------------------------------------------------------

#: A job runs at most this many trials (each learner offers this many distinct settings).
MAX_TRIAL_VARIANTS = 3
GRID_SIDES = (4, 2, 8)


def _features(pixels: np.ndarray, grid: int) -> np.ndarray:
    """Mean colour of each cell of a ``grid`` x ``grid`` layout plus a coarse colour histogram, in [0, 1]."""
    img = pixels.astype(np.float32)
    h, w = img.shape[:2]
    ys = np.linspace(0, h, grid + 1).astype(int)
    xs = np.linspace(0, w, grid + 1).astype(int)
    cells = [img[ys[i]:max(ys[i + 1], ys[i] + 1), xs[j]:max(xs[j + 1], xs[j] + 1)].mean(axis=(0, 1))
             for i in range(grid) for j in range(grid)]
    hist = [np.histogram(img[..., c], bins=4, range=(0.0, 1.0))[0] / float(h * w) for c in range(3)]
    return np.concatenate([np.ravel(cells), np.ravel(hist)])


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


class CentroidModel:
    """Class centroids in feature space (+ each class's mean box for detection)."""

    def __init__(self, task: str, classes: tuple[str, ...], grid: int, pos: np.ndarray, neg: np.ndarray,
                 boxes: np.ndarray, scale: float) -> None:
        self.task, self.classes, self.grid = task, classes, grid
        self.pos, self.neg, self.boxes, self.scale = pos, neg, boxes, scale

    def _scores(self, pixels: np.ndarray) -> np.ndarray:
        f = _features(pixels, self.grid)
        d_pos = np.linalg.norm(self.pos - f, axis=1)
        d_neg = np.linalg.norm(self.neg - f, axis=1)
        return (d_neg - d_pos) / self.scale

    def predict(self, images: Sequence[np.ndarray]) -> list[ImagePrediction]:
        out = []
        for pixels in images:
            s = self._scores(pixels)
            if self.task == CLASSIFICATION:
                out.append(ImagePrediction(probs=tuple(float(p) for p in _softmax(4.0 * s))))
                continue
            probs = 1.0 / (1.0 + np.exp(-4.0 * s))
            if self.task == MULTILABEL:
                out.append(ImagePrediction(probs=tuple(float(p) for p in probs)))
                continue
            boxes = [Box(c, *(float(v) for v in self.boxes[k]), score=float(probs[k]))
                     for k, c in enumerate(self.classes)]
            out.append(ImagePrediction(boxes=tuple(sorted(boxes, key=lambda b: -b.score))))
        return out

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, task=np.array(self.task), classes=np.array(self.classes), grid=np.array(self.grid),
                 pos=self.pos, neg=self.neg, boxes=self.boxes, scale=np.array(self.scale))
        return buf.getvalue()


class CentroidLearner:
    """Learns, per class, the mean features of images that have it and of images that do not."""

    def trial_settings(self, k: int) -> dict[str, Any]:
        return {"grid": GRID_SIDES[k % len(GRID_SIDES)]}

    def fit(self, task: str, classes: Sequence[str], examples: Sequence[Example],
            settings: dict[str, Any]) -> CentroidModel:
        grid = int(settings.get("grid", GRID_SIDES[0]))
        feats = np.stack([_features(e.pixels, grid) for e in examples])
        overall = feats.mean(axis=0)
        pos, neg, boxes = [], [], []
        for c in classes:
            has = np.array([c in e.labels for e in examples])
            pos.append(feats[has].mean(axis=0) if has.any() else overall)
            neg.append(feats[~has].mean(axis=0) if (~has).any() else overall)
            mine = [b for e in examples for b in e.boxes if b.label == c]
            boxes.append(np.mean([[b.top_x, b.top_y, b.bottom_x, b.bottom_y] for b in mine], axis=0)
                         if mine else np.array([0.0, 0.0, 1.0, 1.0]))
        pos_a, neg_a = np.stack(pos), np.stack(neg)
        scale = float(np.linalg.norm(pos_a - neg_a, axis=1).mean()) or 1.0
        return CentroidModel(task, tuple(classes), grid, pos_a, neg_a, np.stack(boxes), scale)

    def load(self, data: bytes) -> CentroidModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return CentroidModel(str(z["task"]), tuple(str(c) for c in z["classes"]), int(z["grid"]), z["pos"],
                                 z["neg"], z["boxes"], float(z["scale"]))


