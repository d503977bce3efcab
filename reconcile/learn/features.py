"""Pixels to feature vectors: edge orientations (pooled histograms, HOG), colour histograms, LBP texture.

* :func:`image_features`: vectors for a whole image (classification), one per
  feature group (:data:`IMAGE_GROUPS`). The image is resized to :data:`IMAGE_SIDE`
  square, so every image gives the same lengths.
* :func:`window_grid`: vectors for every window of one shape slid over an image in
  steps of one HOG cell (detection). A window is resized to :data:`PATCH_SIDE`
  square (anisotropically), so windows of every shape give the same length, and
  :func:`patch_features` gives the same vector for a cropped patch.

Gradients come from the colour channel with the strongest gradient, and HOG is
computed here, vectorised (scikit-image's ``hog`` normalises blocks in a Python loop,
which would cost more than the rest of detection). scikit-image gives the HSV
conversion and LBP; Pillow the resizing. All functions are deterministic and return
``float32``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IMAGE_SIDE = 64
CELL = 8
#: Window side in cells; a window is PATCH_CELLS x PATCH_CELLS HOG cells.
PATCH_CELLS = 4
PATCH_SIDE = CELL * PATCH_CELLS
_HUE_BINS, _SAT_BINS, _VAL_BINS = 8, 3, 3


def as_pil(rgb: np.ndarray):
    """An 8-bit Pillow image of float RGB ``rgb`` (for repeated resizing)."""
    from PIL import Image

    return Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), mode="RGB")


def resize(rgb, height: int, width: int) -> np.ndarray:
    """``rgb`` (float array or :func:`as_pil` image) resized to ``height`` x ``width``, as float RGB.

    Bilinear on 8-bit pixels; Pillow widens the filter when shrinking (anti-aliasing).
    """
    from PIL import Image

    if isinstance(rgb, np.ndarray):
        if rgb.shape[0] == height and rgb.shape[1] == width:
            return rgb
        rgb = as_pil(rgb)
    return np.asarray(rgb.resize((width, height), Image.BILINEAR), np.float32) / 255


def _gray(rgb: np.ndarray) -> np.ndarray:
    return (rgb @ np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)).astype(np.float32)


HOG_BINS = 9


def _hog(rgb: np.ndarray, cell: int) -> np.ndarray:
    """HOG blocks ``(cells_y - 1, cells_x - 1, 4 * HOG_BINS)``: 2x2 cells, L2-Hys normalised.

    Vectorised (a Python loop per block would cost more than the rest of detection):
    unsigned orientations, the strongest colour channel's gradient, hard binning.
    """
    mag, ang = colour_gradient(rgb)
    cy, cx = rgb.shape[0] // cell, rgb.shape[1] // cell
    mag, ang = mag[: cy * cell, : cx * cell], ang[: cy * cell, : cx * cell]
    bins = np.minimum((ang / np.pi * HOG_BINS).astype(int), HOG_BINS - 1)
    rows = (np.arange(cy * cell) // cell)[:, None]
    cols = (np.arange(cx * cell) // cell)[None, :]
    idx = ((rows * cx + cols) * HOG_BINS + bins).ravel()
    hist = np.bincount(idx, weights=mag.ravel(), minlength=cy * cx * HOG_BINS).reshape(cy, cx, HOG_BINS)
    blocks = np.concatenate([hist[:-1, :-1], hist[:-1, 1:], hist[1:, :-1], hist[1:, 1:]], axis=2)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=2, keepdims=True) + 1e-6)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=2, keepdims=True) + 1e-6)
    return blocks.astype(np.float32)


def colour_histogram(hsv: np.ndarray) -> np.ndarray:
    """Joint hue/saturation/value histogram (8x3x3 bins) of an HSV image, normalised to sum 1."""
    hsv = hsv.reshape(-1, 3)
    h = np.minimum((hsv[:, 0] * _HUE_BINS).astype(int), _HUE_BINS - 1)
    s = np.minimum((hsv[:, 1] * _SAT_BINS).astype(int), _SAT_BINS - 1)
    v = np.minimum((hsv[:, 2] * _VAL_BINS).astype(int), _VAL_BINS - 1)
    idx = (h * _SAT_BINS + s) * _VAL_BINS + v
    hist = np.bincount(idx, minlength=_HUE_BINS * _SAT_BINS * _VAL_BINS).astype(np.float32)
    return hist / max(1.0, float(hist.sum()))


def texture_histogram(gray: np.ndarray) -> np.ndarray:
    """Uniform local binary patterns (8 neighbours, radius 1 and 2), 10 bins each, normalised."""
    from skimage.feature import local_binary_pattern

    img = (gray * 255).astype(np.uint8)
    parts = []
    for radius in (1, 2):
        codes = local_binary_pattern(img, 8, radius, method="uniform")
        hist = np.bincount(codes.astype(int).ravel(), minlength=10).astype(np.float32)
        parts.append(hist / max(1.0, float(hist.sum())))
    return np.concatenate(parts)


#: Unsigned gradient orientations of the pooled orientation histograms.
ORIENTATIONS = 12


def colour_gradient(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(magnitude, unsigned angle)`` per pixel, from the colour channel with the strongest gradient.

    Central differences (zero on the border). An edge between two colours of equal
    brightness still counts (a grey image would lose it).
    """
    rgb = np.asarray(rgb, np.float32)
    height, width = rgb.shape[:2]
    gx = np.zeros_like(rgb)
    gy = np.zeros_like(rgb)
    np.subtract(rgb[:, 2:], rgb[:, :-2], out=gx[:, 1:-1])
    np.subtract(rgb[2:], rgb[:-2], out=gy[1:-1])
    m2 = gx * gx
    m2 += gy * gy
    # Flat indices of the strongest channel per pixel (cheaper than take_along_axis or select).
    pick = m2.reshape(-1, 3).argmax(axis=1) + np.arange(height * width) * 3
    sx = gx.ravel()[pick].reshape(height, width)
    sy = gy.ravel()[pick].reshape(height, width)
    angle = np.arctan2(sy, sx)
    angle[angle < 0] += np.pi
    angle[angle >= np.pi] = 0.0  # unsigned: pi is 0
    return np.sqrt(m2.ravel()[pick]).reshape(height, width), angle


def orientation_pyramid(rgb: np.ndarray) -> np.ndarray:
    """Magnitude-weighted gradient-orientation histograms over the whole image and its 2x2 and 4x4 grids.

    Pooled over regions, so a shape anywhere in its region gives the same histogram;
    each histogram is L1-normalised (contrast does not matter, edge directions do).
    """
    mag, ang = colour_gradient(rgb)
    bins = np.minimum((ang / np.pi * ORIENTATIONS).astype(int), ORIENTATIONS - 1)
    side = rgb.shape[0]
    parts = []
    for grid in (1, 2, 4):
        step = side // grid
        cell = (np.arange(side) // step).clip(max=grid - 1)
        region = cell[:, None] * grid + cell[None, :]
        idx = (region * ORIENTATIONS + bins).ravel()
        hist = np.bincount(idx, weights=mag.ravel(), minlength=grid * grid * ORIENTATIONS)
        hist = hist.reshape(grid * grid, ORIENTATIONS)
        hist /= hist.sum(axis=1, keepdims=True) + 1e-6
        parts.append(hist.ravel())
    return np.concatenate(parts).astype(np.float32)


#: The feature groups of :func:`image_features`, weighed separately by the learner.
IMAGE_GROUPS = ("shape", "layout", "colour")


def image_features(rgb: np.ndarray, *, flip: bool = False) -> tuple[np.ndarray, ...]:
    """The classification vectors of a whole image, one per :data:`IMAGE_GROUPS` entry.

    ``shape``: pooled edge orientations at two blurs and texture (position-free);
    ``layout``: a coarse HOG (where edges are); ``colour``: HSV histograms of the
    image and its quadrants, channel means and spreads. ``flip``: of the mirror image.
    """
    from scipy.ndimage import gaussian_filter
    from skimage.color import rgb2hsv

    small = resize(rgb, IMAGE_SIDE, IMAGE_SIDE)
    if flip:
        small = small[:, ::-1]
    gray = _gray(small)
    hsv = rgb2hsv(small)
    half = IMAGE_SIDE // 2
    quadrants = [colour_histogram(hsv[r:r + half, c:c + half]) for r in (0, half) for c in (0, half)]
    pixels = small.reshape(-1, 3)
    shape = np.concatenate([orientation_pyramid(small), orientation_pyramid(gaussian_filter(small, (1.5, 1.5, 0))),
                            texture_histogram(gray)])
    layout = _hog(small, 2 * CELL).ravel()
    colour = np.concatenate([colour_histogram(hsv), *quadrants, pixels.mean(axis=0), pixels.std(axis=0)])
    return tuple(g.astype(np.float32) for g in (shape, layout, colour))


# --- windows (detection) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowGrid:
    """Every window of one shape over one image: features and boxes in the image's pixels."""

    features: np.ndarray
    """``(n, d)`` float32."""
    boxes: np.ndarray
    """``(n, 4)`` float32 ``(x, y, w, h)`` in pixels of the original image."""


def _window_vectors(rgb: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Window features of a resized image; returns ``(features (rows, cols, d), rows, cols)``."""
    from numpy.lib.stride_tricks import sliding_window_view

    blocks = _hog(rgb, CELL)  # (cells_y - 1, cells_x - 1, 36)
    span = PATCH_CELLS - 1
    hog_w = sliding_window_view(blocks, (span, span), axis=(0, 1))  # (r, c, 36, span, span)
    rows, cols = hog_w.shape[:2]
    hog_w = hog_w.reshape(rows, cols, -1)
    cy, cx = blocks.shape[0] + 1, blocks.shape[1] + 1
    cells = rgb[: cy * CELL, : cx * CELL].reshape(cy, CELL, cx, CELL, 3).mean(axis=(1, 3))
    col_w = sliding_window_view(cells, (PATCH_CELLS, PATCH_CELLS), axis=(0, 1))  # (r, c, 3, P, P)
    col_w = col_w[:rows, :cols].reshape(rows, cols, -1)
    return np.concatenate([hog_w, col_w], axis=2).astype(np.float32), rows, cols


def patch_features(patch_rgb: np.ndarray) -> np.ndarray:
    """The window vector of a patch (any size; resized to the window size first)."""
    patch = resize(patch_rgb, PATCH_SIDE, PATCH_SIDE)
    feats, rows, cols = _window_vectors(patch)
    assert rows == 1 and cols == 1
    return feats[0, 0]


def window_grid(rgb, win_w: float, win_h: float, *, max_side: int = 2048) -> WindowGrid | None:
    """All windows of ``win_w`` x ``win_h`` pixels, one cell apart; ``None`` when the window does not fit.

    ``rgb``: a float RGB array, or its :func:`as_pil` image when sliding several window shapes.
    """
    width, height = (rgb.width, rgb.height) if not isinstance(rgb, np.ndarray) else (rgb.shape[1], rgb.shape[0])
    if win_w > width * 1.0001 or win_h > height * 1.0001 or win_w < 2 or win_h < 2:
        return None
    sx, sy = PATCH_SIDE / win_w, PATCH_SIDE / win_h
    new_w = max(PATCH_SIDE, min(max_side, int(round(width * sx))))
    new_h = max(PATCH_SIDE, min(max_side, int(round(height * sy))))
    sx, sy = new_w / width, new_h / height
    scaled = resize(rgb, new_h, new_w)
    feats, rows, cols = _window_vectors(scaled)
    ys, xs = np.mgrid[0:rows, 0:cols]
    boxes = np.stack([xs.ravel() * CELL / sx, ys.ravel() * CELL / sy,
                      np.full(rows * cols, PATCH_SIDE / sx), np.full(rows * cols, PATCH_SIDE / sy)], axis=1)
    return WindowGrid(feats.reshape(rows * cols, -1), boxes.astype(np.float32))
