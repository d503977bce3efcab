"""Tiny generated images for learner tests (deterministic for a seed)."""

from __future__ import annotations

import numpy as np

from reconcile.demo.shapes import classification_image, detection_image


def shape_set(n_per_class: int, *, seed: int, size: int = 48) -> tuple[list[np.ndarray], list[int]]:
    """``n_per_class`` images of each of circle, square, triangle as float RGB; labels 0, 1, 2."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(3 * n_per_class):
        label = i % 3
        img, _ = classification_image(rng, size, ("circle", "square", "triangle")[label])
        images.append(img.astype(np.float32) / 255)
        labels.append(label)
    return images, labels


def square_scene(size: int, box: tuple[int, int, int, int], *, seed: int) -> np.ndarray:
    """A noisy background with one bright square at ``box`` (x, y, w, h) in pixels."""
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(0.45, 0.08, (size, size, 1)).repeat(3, axis=2), 0, 1).astype(np.float32)
    x, y, w, h = box
    img[y:y + h, x:x + w] = (0.9, 0.2, 0.2)
    return img


def detection_set(n: int, *, seed: int, size: int = 64) -> tuple[list[np.ndarray], list[list]]:
    """Scenes of one to three shapes, with ``(class, (left, top, width, height) relative)`` labels."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        img, boxes = detection_image(rng, size, ("circle", "square", "triangle")[i % 3])
        images.append(img.astype(np.float32) / 255)
        labels.append([(("circle", "square", "triangle").index(b.label),
                        (b.left / size, b.top / size, b.width / size, b.height / size)) for b in boxes])
    return images, labels
