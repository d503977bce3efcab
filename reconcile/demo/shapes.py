"""A deterministic synthetic-shapes image set: real PNGs plus Azure-style COCO files.

Coloured circles, squares and triangles on speckled backgrounds, 64x64 px by
default (above the 50 px minimum for evaluation images). Two tasks:

* ``classification/``: one shape per image; one annotation (its class) per image.
* ``detection/``: one to three non-overlapping shapes per image; boxes are
  ``[left, top, width, height]`` relative to the image (0..1), computed from the
  pixels actually drawn.

Each task gets ``train.coco.json`` and ``test.coco.json`` plus an ``images/``
folder. COCO ``file_name`` is relative to ``images/``; there is no
``absolute_url`` (apply uploads the images and fills it in). The same arguments
always give the same bytes, so the committed set under ``data/shapes/`` can be
checked by regenerating it (``python -m reconcile.demo.shapes data/shapes``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reconcile.demo.png import encode_png

CLASSES = ("circle", "square", "triangle")
#: Saturated colours that stand out from the muted backgrounds.
PALETTE = (
    (220, 50, 47),
    (38, 139, 210),
    (133, 153, 0),
    (211, 54, 130),
    (181, 137, 0),
    (42, 161, 152),
    (108, 113, 196),
    (203, 75, 22),
)
TASKS = ("classification", "detection")
SPLITS = ("train", "test")
DEFAULT_SEED = 20230401


@dataclass(frozen=True, slots=True)
class Box:
    """A drawn shape: class and pixel bounding box (left, top, width, height)."""

    label: str
    left: int
    top: int
    width: int
    height: int

    def overlaps(self, other: "Box", gap: int) -> bool:
        return not (
            self.left + self.width + gap <= other.left
            or other.left + other.width + gap <= self.left
            or self.top + self.height + gap <= other.top
            or other.top + other.height + gap <= self.top
        )


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.integers(70, 190, size=3)
    # One grey speckle value per pixel, shared by the channels: noisy to the eye, small as PNG.
    speckle = (rng.integers(-2, 3, size=(size, size)) * 6)[:, :, None]
    return np.clip(base[None, None, :] + speckle, 0, 255).astype(np.uint8)


def _mask(kind: str, size: int, cx: float, cy: float, r: float) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size]
    x = xs + 0.5
    y = ys + 0.5
    if kind == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    if kind == "square":
        half = r * 0.85
        return (np.abs(x - cx) <= half) & (np.abs(y - cy) <= half)
    # An upward triangle: inside the base line and both slanted edges.
    top = cy - r
    bottom = cy + r * 0.8
    rel = (y - top) / (bottom - top)
    return (y >= top) & (y <= bottom) & (np.abs(x - cx) <= rel * r)


def _draw(img: np.ndarray, rng: np.random.Generator, kind: str, cx: float, cy: float, r: float) -> Box:
    mask = _mask(kind, img.shape[0], cx, cy, r)
    colour = np.array(PALETTE[int(rng.integers(len(PALETTE)))], dtype=np.uint8)
    img[mask] = colour
    ys, xs = np.nonzero(mask)
    left, top = int(xs.min()), int(ys.min())
    return Box(kind, left, top, int(xs.max()) - left + 1, int(ys.max()) - top + 1)


def classification_image(rng: np.random.Generator, size: int, label: str) -> tuple[np.ndarray, Box]:
    """One shape of class ``label``, large and fully inside the image."""
    img = _background(rng, size)
    r = float(rng.uniform(size * 0.22, size * 0.36))
    margin = r + 2
    cx = float(rng.uniform(margin, size - margin))
    cy = float(rng.uniform(margin, size - margin))
    return img, _draw(img, rng, label, cx, cy, r)


def detection_image(rng: np.random.Generator, size: int, first: str) -> tuple[np.ndarray, list[Box]]:
    """One to three smaller, non-overlapping shapes; the first is of class ``first``."""
    img = _background(rng, size)
    want = int(rng.integers(1, 4))
    boxes: list[Box] = []
    for i in range(want):
        label = first if i == 0 else CLASSES[int(rng.integers(len(CLASSES)))]
        for _attempt in range(40):
            r = float(rng.uniform(size * 0.10, size * 0.18))
            margin = r + 1
            cx = float(rng.uniform(margin, size - margin))
            cy = float(rng.uniform(margin, size - margin))
            box = _bbox_of(label, size, cx, cy, r)
            if all(not box.overlaps(b, gap=2) for b in boxes):
                boxes.append(_draw(img, rng, label, cx, cy, r))
                break
    return img, boxes


def _bbox_of(label: str, size: int, cx: float, cy: float, r: float) -> Box:
    ys, xs = np.nonzero(_mask(label, size, cx, cy, r))
    left, top = int(xs.min()), int(ys.min())
    return Box(label, left, top, int(xs.max()) - left + 1, int(ys.max()) - top + 1)


def _relative_bbox(box: Box, size: int) -> list[float]:
    left = round(box.left / size, 6)
    top = round(box.top / size, 6)
    width = min(round(box.width / size, 6), round(1 - left, 6))
    height = min(round(box.height / size, 6), round(1 - top, 6))
    return [left, top, width, height]


def _coco_json(doc: dict[str, list[dict[str, Any]]]) -> bytes:
    """One record per line: diffs of regenerated files stay readable in review."""
    parts = []
    for key in ("images", "annotations", "categories"):
        rows = ",\n".join("  " + json.dumps(r, separators=(", ", ": ")) for r in doc[key])
        parts.append(f' "{key}": [\n{rows}\n ]')
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def _categories() -> list[dict[str, Any]]:
    return [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)]


def _split(task: str, split: str, count: int, rng: np.random.Generator, size: int) -> Iterator[tuple[str, bytes]]:
    """(relative path, bytes) of every file of one task/split: images, then the COCO file."""
    cat_id = {n: i + 1 for i, n in enumerate(CLASSES)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i in range(count):
        label = CLASSES[i % len(CLASSES)]  # balanced classes: every class has count/3 images
        name = f"{split}-{i + 1:03d}.png"
        if task == "classification":
            pixels, box = classification_image(rng, size, label)
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": cat_id[box.label]})
        else:
            pixels, boxes = detection_image(rng, size, label)
            for b in boxes:
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": i + 1,
                        "category_id": cat_id[b.label],
                        "bbox": _relative_bbox(b, size),
                    }
                )
        images.append({"id": i + 1, "width": size, "height": size, "file_name": name})
        yield f"{task}/images/{name}", encode_png(pixels)
    doc = {"images": images, "annotations": annotations, "categories": _categories()}
    yield f"{task}/{split}.coco.json", _coco_json(doc)


def iter_files(*, seed: int = DEFAULT_SEED, size: int = 64, train: int = 42, test: int = 21) -> Iterator[tuple[str, bytes]]:
    """Every file of the set as ``(relative posix path, bytes)``, in a fixed order.

    Raises ``ValueError`` if ``size`` < 50 (evaluation images must be at least
    50 px) or a split has fewer than two images per class.
    """
    if size < 50:
        raise ValueError("size must be at least 50 px (the service's minimum for evaluation images)")
    if min(train, test) < 2 * len(CLASSES):
        raise ValueError(f"each split needs at least {2 * len(CLASSES)} images (two per class)")
    for t_index, task in enumerate(TASKS):
        for s_index, split in enumerate(SPLITS):
            # A stream per task/split: changing one split's count leaves the others' bytes alone.
            rng = np.random.default_rng([seed, t_index, s_index])
            yield from _split(task, split, train if split == "train" else test, rng, size)


def generate(out: Path, **kwargs: Any) -> list[Path]:
    """Write the set under ``out`` (arguments as :func:`iter_files`); returns the paths written."""
    written = []
    for rel, data in iter_files(**kwargs):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reconcile.demo.shapes", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("data/shapes"))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=42)
    parser.add_argument("--test", type=int, default=21)
    a = parser.parse_args(argv)
    paths = generate(a.out, seed=a.seed, size=a.size, train=a.train, test=a.test)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files ({total // 1024} KiB) under {a.out}")


if __name__ == "__main__":
    main()
