"""Image classification: :func:`fit_classifier` on images and class indices, then
:meth:`ImageClassifier.predict_proba` (calibrated probabilities over every class).

While the training set is small (under :data:`MIRROR_BELOW` images) each image also
contributes its mirror image; the two stay in one cross-validation fold. With more
images the mirrors add little and would cost half the fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reconcile.learn.features import IMAGE_GROUPS, IMAGE_SIDE, image_features
from reconcile.learn.linear import FusedModel, fit_fused

KIND = "classifier"
VERSION = 1
MIRROR_BELOW = 500
#: Images need no more pixels than this per side (JPEGs can then be decoded at a reduced scale).
NEEDED_SIDE = 2 * IMAGE_SIDE


@dataclass(frozen=True, slots=True)
class ImageClassifier:
    classes: tuple[str, ...]
    model: FusedModel

    def predict_proba(self, rgb: np.ndarray) -> np.ndarray:
        """Probabilities over :attr:`classes` (sum 1) for one image."""
        return self.model.predict_proba([g[None, :] for g in image_features(rgb)])[0]

    def group_weights(self) -> dict[str, float]:
        return {name: float(w) for name, w in zip(IMAGE_GROUPS, self.model.weights)}

    def to_state(self) -> dict:
        return {"learner": KIND, "version": VERSION, "classes": list(self.classes), "model": self.model.to_state()}

    @classmethod
    def from_state(cls, s: dict) -> "ImageClassifier":
        if s.get("learner") != KIND or s.get("version") != VERSION:
            raise ValueError(f"not a version-{VERSION} classifier state")
        return cls(tuple(s["classes"]), FusedModel.from_state(s["model"]))


def fit_classifier(classes: Sequence[str], labels: Sequence[int], load: Callable[[int], np.ndarray], *,
                   seed: int = 0) -> ImageClassifier:
    """Fit on ``len(labels)`` images; ``load(i)`` returns image ``i`` (decoded one at a time).

    Raises ``ValueError`` without images.
    """
    rows: list[tuple[np.ndarray, ...]] = []
    ys, groups = [], []
    flips = (False, True) if len(labels) < MIRROR_BELOW else (False,)
    for i, label in enumerate(labels):
        rgb = load(i)
        for flip in flips:
            rows.append(image_features(rgb, flip=flip))
            ys.append(label)
            groups.append(i)
    if not rows:
        raise ValueError("no training images")
    blocks = [np.stack([r[g] for r in rows]) for g in range(len(IMAGE_GROUPS))]
    model = fit_fused(blocks, np.asarray(ys), len(classes), groups=np.asarray(groups), seed=seed)
    return ImageClassifier(tuple(classes), model)
