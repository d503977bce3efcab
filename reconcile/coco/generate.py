"""A seeded generator of Azure-style COCO files, for benchmarks and tests.

Same seed, same bytes. Shapes follow the benchmark sizes of docs/coco.md: at 1M
detection annotations there are 200k images and 500 categories; the
classification variant has one label per image. ``defect`` plants exactly one
known error near the end of the file, so benchmarks can time the full-report
path on an invalid file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reconcile.coco.rules import CLASSIFICATION, DETECTION

Defect = Literal["bbox", "image_ref"]


@dataclass(frozen=True, slots=True)
class GeneratedShape:
    """What :func:`generate_coco` produced (for assertions and benchmark labels)."""

    kind: str
    images: int
    annotations: int
    categories: int


def shape_for(kind: str, annotations: int, *, images: int | None = None, categories: int | None = None) -> GeneratedShape:
    """The default image and category counts for ``annotations`` annotations of ``kind``."""
    if annotations < 1:
        raise ValueError("annotations must be >= 1")
    if images is None:
        images = annotations if kind == CLASSIFICATION else max(1, annotations // 5)
    if categories is None:
        categories = max(2, min(500, annotations // 20))
    return GeneratedShape(kind, images, annotations, categories)


def generate_coco(
    kind: str,
    annotations: int,
    *,
    seed: int = 7,
    images: int | None = None,
    categories: int | None = None,
    url_prefix: str = "https://benchacct.blob.core.windows.net/images/",
    defect: Defect | None = None,
) -> bytes:
    """Return the compact JSON bytes of a valid Azure COCO file (or one with a single planted ``defect``).

    Detection files give every image at least one box when ``annotations >= images``;
    classification files need ``annotations == images`` (one label each).
    """
    if kind not in (CLASSIFICATION, DETECTION):
        raise ValueError(f"unknown kind {kind!r}")
    shape = shape_for(kind, annotations, images=images, categories=categories)
    n_img, n_ann, n_cat = shape.images, shape.annotations, shape.categories
    if kind == CLASSIFICATION and n_img != n_ann:
        raise ValueError("classification files have exactly one annotation per image")
    rng = np.random.default_rng(seed)

    parts: list[str] = ['{"info":{"description":"vision-gitops synthetic COCO","seed":%d},"images":[' % seed]
    widths = rng.integers(200, 4000, n_img).tolist()
    heights = rng.integers(200, 4000, n_img).tolist()
    parts.append(
        ",".join(
            f'{{"id":{i + 1},"width":{w},"height":{h},"file_name":"img_{i + 1:07d}.jpg",'
            f'"absolute_url":"{url_prefix}img_{i + 1:07d}.jpg"}}'
            for i, (w, h) in enumerate(zip(widths, heights))
        )
    )
    parts.append('],"annotations":[')

    if kind == CLASSIFICATION:
        image_ids = np.arange(1, n_img + 1)
        # Every category gets at least two images (the training minimum) when there is room.
        cats = np.concatenate([np.repeat(np.arange(1, n_cat + 1), 2), rng.integers(1, n_cat + 1, max(0, n_ann - 2 * n_cat))])[:n_ann]
        rng.shuffle(cats)
    else:
        base = np.arange(1, min(n_img, n_ann) + 1)
        extra = rng.integers(1, n_img + 1, n_ann - base.size)
        image_ids = np.sort(np.concatenate([base, extra]))
        cats = np.concatenate([np.repeat(np.arange(1, n_cat + 1), 2), rng.integers(1, n_cat + 1, max(0, n_ann - 2 * n_cat))])[:n_ann]
        rng.shuffle(cats)
    img_list = image_ids.tolist()
    cat_list = cats.tolist()
    bad = max(0, n_ann - 1000) if defect else -1

    if kind == DETECTION:
        left = np.round(rng.uniform(0.0, 0.9, n_ann), 6)
        top = np.round(rng.uniform(0.0, 0.9, n_ann), 6)
        width = np.round((1.0 - left) * rng.uniform(0.05, 0.95, n_ann), 6)
        height = np.round((1.0 - top) * rng.uniform(0.05, 0.95, n_ann), 6)
        area = np.round(width * height, 6)
        rows = zip(img_list, cat_list, left.tolist(), top.tolist(), width.tolist(), height.tolist(), area.tolist())
        out = []
        for k, (im, ca, lf, tp, wd, ht, ar) in enumerate(rows):
            if k == bad:
                if defect == "bbox":
                    wd = round(1.05 - lf, 6)
                else:
                    im = n_img + 1000
            out.append(
                f'{{"id":{k + 1},"image_id":{im},"category_id":{ca},"bbox":[{lf},{tp},{wd},{ht}],"area":{ar},"iscrowd":0}}'
            )
        parts.append(",".join(out))
    else:
        out = []
        for k, (im, ca) in enumerate(zip(img_list, cat_list)):
            if k == bad:
                im = n_img + 1000 if defect == "image_ref" else im
                if defect == "bbox":
                    out.append(f'{{"id":{k + 1},"image_id":{im},"category_id":{ca},"bbox":[0.1,0.1,0.2,0.2]}}')
                    continue
            out.append(f'{{"id":{k + 1},"image_id":{im},"category_id":{ca}}}')
        parts.append(",".join(out))
    parts.append('],"categories":[')
    parts.append(",".join(f'{{"id":{j + 1},"name":"class_{j + 1:04d}","supercategory":"thing"}}' for j in range(n_cat)))
    parts.append("]}")
    return "".join(parts).encode()


def write_coco(path: str | os.PathLike[str], kind: str, annotations: int, **kwargs: object) -> GeneratedShape:
    """Write :func:`generate_coco` output to ``path`` (atomically) and return its shape."""
    data = generate_coco(kind, annotations, **kwargs)  # type: ignore[arg-type]
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return shape_for(kind, annotations, images=kwargs.get("images"), categories=kwargs.get("categories"))  # type: ignore[arg-type]
