"""What a fitted model takes and returns: an image in, tags or boxes out.

Shared by every trainer (:mod:`reconcile.emulator.trainer` and
:mod:`reconcile.emulator.pixel_trainer`) without either importing the other's module
at load time: ``trainer.make_trainer`` picks the pixel trainer by name, so the pixel
trainer must not need ``trainer`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSIFICATION = "imageClassification"
DETECTION = "imageObjectDetection"

#: How many tags / boxes a prediction lists at most.
MAX_PREDICTIONS = 5


@dataclass(frozen=True, slots=True)
class TagScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class DetectedBox:
    """A box in pixels (ints, w and h >= 1) with its tags."""

    x: int
    y: int
    w: int
    h: int
    tags: tuple[TagScore, ...]


@dataclass(frozen=True, slots=True)
class Prediction:
    tags: tuple[TagScore, ...] = ()
    objects: tuple[DetectedBox, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageInput:
    """What a predictor gets: the bytes and the size read from the header."""

    data: bytes
    width: int
    height: int
