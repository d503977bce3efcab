"""Labeled data as the trainer sees it, read from COCO files the validator has accepted.

:func:`from_coco` trusts the structure (the validator ran first) but never raises on
odd records: it skips an annotation whose image or category is unknown.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # records imports msgspec; the CLI imports this module and must stay light
    from reconcile.emulator.records import Auth


@dataclass(frozen=True, slots=True)
class Label:
    category: str
    bbox: tuple[float, float, float, float] | None = None
    """Relative ``(left, top, width, height)`` in 0..1 (detection only)."""


@dataclass(frozen=True, slots=True)
class LabeledImage:
    file_name: str
    url: str | None
    width: float
    height: float
    labels: tuple[Label, ...]


@dataclass(frozen=True, slots=True)
class LabeledData:
    """Images with their labels, plus every category name the files declare (in file order)."""

    kind: str
    """``imageClassification`` or ``imageObjectDetection``."""
    categories: tuple[str, ...]
    images: tuple[LabeledImage, ...]
    source: str = ""
    """The dataset's name (for messages)."""
    auth: Auth | None = None
    """How to read the image URLs (the dataset's authentication)."""
    file_roots: tuple[Path, ...] = ()
    """Where ``file://`` image URLs may point (the emulator's data roots)."""

    @property
    def num_images(self) -> int:
        return len(self.images)

    @property
    def num_boxes(self) -> int:
        return sum(len(i.labels) for i in self.images)

    def avg_boxes_per_image(self) -> float:
        return self.num_boxes / self.num_images if self.images else 0.0

    def merged(self, other: "LabeledData") -> "LabeledData":
        cats = self.categories + tuple(c for c in other.categories if c not in self.categories)
        return LabeledData(self.kind, cats, self.images + other.images, self.source, self.auth, self.file_roots)

    def split(self, held_out_every: int = 5) -> tuple["LabeledData", "LabeledData"]:
        """A deterministic (train, held-out) split: every n-th image in sha256(file_name) order.

        With fewer than two images both halves are the whole data (nothing to hold out).
        """
        if len(self.images) < 2:
            return self, self
        order = sorted(
            range(len(self.images)),
            key=lambda i: hashlib.sha256(f"{self.images[i].file_name}\0{i}".encode()).hexdigest(),
        )
        held = {order[j] for j in range(0, len(order), held_out_every)}
        train = tuple(im for i, im in enumerate(self.images) if i not in held)
        test = tuple(im for i, im in enumerate(self.images) if i in held)
        return (LabeledData(self.kind, self.categories, train, self.source, self.auth, self.file_roots),
                LabeledData(self.kind, self.categories, test, self.source, self.auth, self.file_roots))


def from_coco(doc: dict[str, Any], kind: str) -> LabeledData:
    """Read a validated COCO document (detection boxes relative, as the service expects)."""
    cat_names: dict[Any, str] = {}
    for c in doc.get("categories") or []:
        if isinstance(c, dict) and "id" in c:
            cat_names[c["id"]] = str(c.get("name", c["id"]))
    labels: dict[Any, list[Label]] = {}
    for a in doc.get("annotations") or []:
        if not isinstance(a, dict) or a.get("category_id") not in cat_names:
            continue
        bbox = None
        if kind == "imageObjectDetection":
            raw = a.get("bbox")
            if not (isinstance(raw, (list, tuple)) and len(raw) == 4):
                continue
            bbox = tuple(float(v) for v in raw)
        labels.setdefault(a.get("image_id"), []).append(Label(cat_names[a["category_id"]], bbox))
    images = []
    for im in doc.get("images") or []:
        if not isinstance(im, dict):
            continue
        images.append(
            LabeledImage(
                file_name=str(im.get("file_name", "")),
                url=im.get("absolute_url") or im.get("coco_url"),
                width=float(im.get("width") or 0),
                height=float(im.get("height") or 0),
                labels=tuple(labels.get(im.get("id"), ())),
            )
        )
    return LabeledData(kind, tuple(dict.fromkeys(cat_names.values())), tuple(images))
