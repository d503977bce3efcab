"""Calibrated multinomial logistic regression over groups of features ("late fusion").

:func:`fit_fused` fits one standardised logistic regression per feature group (its
regularisation chosen by out-of-fold log-loss), then weighs the groups' scores and
fits a temperature on the out-of-fold scores, so :meth:`FusedModel.predict_proba`
gives calibrated probabilities and a group that does not help the data at hand
(colour for shapes of random colours, say) gets weight 0. A fitted model is plain
arrays and numbers (:meth:`FusedModel.to_state`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Candidate inverse regularisation strengths (features are standardised).
C_GRID = (0.003, 0.03, 0.3)
#: Candidate weights of each feature group.
WEIGHT_GRID = (0.0, 0.5, 1.0)
FOLDS = 3
MAX_ITER = 300
_ABSENT = -30.0  # logit of a class without training rows


@dataclass(frozen=True, slots=True)
class LinearModel:
    """``logits = ((x - mean) / scale) @ coef.T + intercept`` over all classes."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float32) - self.mean) / self.scale
        return z @ self.coef.T + self.intercept

    def to_state(self) -> dict:
        return {"mean": self.mean, "scale": self.scale, "coef": self.coef, "intercept": self.intercept}

    @classmethod
    def from_state(cls, s: dict) -> "LinearModel":
        return cls(*(np.asarray(s[k], np.float32) for k in ("mean", "scale", "coef", "intercept")))


@dataclass(frozen=True, slots=True)
class FusedModel:
    """Per-group linear models; ``probabilities = softmax(sum_g weight_g * logits_g / temperature)``."""

    groups: tuple[LinearModel, ...]
    weights: np.ndarray
    temperature: float

    def logits(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        total = sum(w * m.logits(b) for w, m, b in zip(self.weights, self.groups, blocks) if w > 0)
        return np.asarray(total) / self.temperature

    def predict_proba(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        return softmax(self.logits(blocks))

    def to_state(self) -> dict:
        return {"groups": [m.to_state() for m in self.groups], "weights": np.asarray(self.weights, np.float32),
                "temperature": float(self.temperature)}

    @classmethod
    def from_state(cls, s: dict) -> "FusedModel":
        return cls(tuple(LinearModel.from_state(g) for g in s["groups"]), np.asarray(s["weights"], np.float32),
                   float(s["temperature"]))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_fused(blocks: Sequence[np.ndarray], y: np.ndarray, n_classes: int, *, groups: np.ndarray | None = None,
              seed: int = 0, search: bool = True, c: float | None = None) -> FusedModel:
    """Fit on feature groups ``blocks`` (each ``(n, d_g)``) and labels ``y`` in ``0..n_classes-1``.

    ``groups`` keeps rows of one group (an image and its mirror) in one fold. With too
    few rows per class for cross-validation every group gets weight 1 and the middle
    C, temperature 1, as with ``search=False`` (a quick fit; ``c`` then overrides the C).
    Deterministic for the same inputs and seed.
    """
    c_fixed = c
    y = np.asarray(y)
    present = np.unique(y)
    folds = _folds(y, present, groups, seed) if search else None
    yi = np.searchsorted(present, y)
    models, oofs = [], []
    for x in blocks:
        z, mean, scale = _standardise(x)
        c, oof = (C_GRID[len(C_GRID) // 2] if c_fixed is None else c_fixed), None
        if folds is not None and len(present) > 1:
            best = np.inf
            for cand in C_GRID:
                logits = _oof_logits(z, y, present, folds, cand)
                loss = _log_loss(logits / _temperature(logits, yi), yi)
                if loss < best - 1e-9:
                    best, c, oof = loss, cand, logits
        models.append(_fit_one(z, y, present, n_classes, c, mean, scale))
        oofs.append(oof)
    weights = np.ones(len(blocks))
    temperature = 1.0
    if folds is not None and len(present) > 1:
        best = np.inf
        for combo in itertools.product(WEIGHT_GRID, repeat=len(blocks)):
            if not any(combo):
                continue
            logits = sum(w * o for w, o in zip(combo, oofs) if w > 0)
            t = _temperature(logits, yi)
            loss = _log_loss(logits / t, yi)
            if loss < best - 1e-9:
                best, weights, temperature = loss, np.array(combo), t
    return FusedModel(tuple(models), weights.astype(np.float32), float(temperature))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return (x - mean) / scale, mean, scale


def _folds(y: np.ndarray, present: np.ndarray, groups: np.ndarray | None, seed: int) -> list | None:
    from sklearn.model_selection import StratifiedGroupKFold

    if len(present) < 2 or np.bincount(y)[present].min() < FOLDS:
        return None
    g = np.arange(len(y)) if groups is None else groups
    folds = list(StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed).split(y, y, g))
    if any(len(np.unique(y[train])) < len(present) for train, _ in folds):
        return None
    return folds


def _logreg(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=MAX_ITER, tol=1e-3)


def _decision(model, z: np.ndarray) -> np.ndarray:
    d = model.decision_function(z)
    return np.stack([-d / 2, d / 2], axis=1) if d.ndim == 1 else d


def _oof_logits(z: np.ndarray, y: np.ndarray, present: np.ndarray, folds: list, c: float) -> np.ndarray:
    out = np.zeros((len(y), len(present)))
    for train, test in folds:
        out[test] = _decision(_logreg(c).fit(z[train], y[train]), z[test])
    return out


def _fit_one(z: np.ndarray, y: np.ndarray, present: np.ndarray, n_classes: int, c: float, mean: np.ndarray,
             scale: np.ndarray) -> LinearModel:
    coef = np.zeros((n_classes, z.shape[1]))
    intercept = np.full(n_classes, _ABSENT)
    if len(present) == 1:
        intercept[present[0]] = 0.0
    else:
        m = _logreg(c).fit(z, y)
        if len(present) == 2:
            coef[present] = np.vstack([-m.coef_[0] / 2, m.coef_[0] / 2])
            intercept[present] = [-m.intercept_[0] / 2, m.intercept_[0] / 2]
        else:
            coef[present] = m.coef_
            intercept[present] = m.intercept_
    f32 = np.float32
    return LinearModel(mean.astype(f32), scale.astype(f32), coef.astype(f32), intercept.astype(f32))


def _log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    p = softmax(logits)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def _temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature (on a log grid from 0.2: small data cannot vouch for more confidence) minimising log-loss."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(20.0), 41))
    losses = [_log_loss(logits / t, y) for t in grid]
    return float(grid[int(np.argmin(losses))])
