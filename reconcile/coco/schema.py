"""Typed msgspec Structs of an Azure COCO file, and chunk-level checks built on them.

A record that decodes into these Structs satisfies every per-field rule except
the ones checked over columns here (dimensions, URLs). ``gc=False``: millions of
these are built at once and the cycle collector must not walk them.
"""

from __future__ import annotations

import functools
import types
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import numpy as np
from msgspec import UNSET, Meta, Struct, UnsetType

from reconcile.coco.options import ValidationOptions
from reconcile.coco.rules import Limits
from reconcile.coco.urls import urls_clean

Id = Annotated[int, Meta(ge=1, le=2**63 - 1)]  # ids live in int64 columns
NonEmpty = Annotated[str, Meta(min_length=1)]
Unit0 = Annotated[float, Meta(ge=0, lt=1)]
Unit1 = Annotated[float, Meta(gt=0, le=1)]


class BoxLeavesImage(ValueError):
    """Raised from ``BBox.__post_init__`` (inside decoding) to defer to the exact pass."""


class BBox(Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """Exactly four numbers: ``forbid_unknown_fields`` makes a 5th or 6th item a decoding error."""

    left: Unit0
    top: Unit0
    width: Unit1
    height: Unit1

    def __post_init__(self) -> None:
        # No tolerance here: a box saved only by the tolerance is a warning that the
        # exact pass reports. Called from C during decoding, so it costs ~0.1 s per 1M boxes.
        if self.left + self.width > 1.0 or self.top + self.height > 1.0:
            raise BoxLeavesImage("box leaves the image")


class Image(Struct, gc=False):
    id: Id
    width: int | float
    height: int | float
    file_name: NonEmpty
    absolute_url: str | None = None
    coco_url: str | None = None


class Category(Struct, gc=False):
    id: Id
    name: NonEmpty


class DetAnnotation(Struct, gc=False):
    id: Id
    image_id: Id
    category_id: Id
    bbox: BBox
    area: Annotated[float, Meta(ge=0)] | None = None


class NumbersBoxAnnotation(Struct, gc=False):
    """A detection annotation whose only possible fault is its box's *values* (four numbers, any range)."""

    id: Id
    image_id: Id
    category_id: Id
    bbox: Annotated[list[float], Meta(min_length=4, max_length=4)]
    area: Annotated[float, Meta(ge=0)] | None = None


class ClsAnnotation(Struct, gc=False):
    id: Id
    image_id: Id
    category_id: Id
    bbox: None = None
    area: Annotated[float, Meta(ge=0)] | None = None


class DetCoco(Struct, gc=False):
    images: list[Image]
    annotations: list[DetAnnotation]
    categories: list[Category]


class ClsCoco(Struct, gc=False):
    images: list[Image]
    annotations: list[ClsAnnotation]
    categories: list[Category]


# --- loose shapes: any JSON value per field, for the exact pass ---------------------------
# Decoding into these instead of dicts is faster, and so is freeing them: the exact
# pass uses them whenever the file has the right *shape* (an object of arrays of
# objects). Missing fields decode as None, which the rules treat like null.


class LooseImage(Struct, gc=False):
    id: Any = None
    width: Any = None
    height: Any = None
    file_name: Any = None
    absolute_url: Any = None
    coco_url: Any = None


class LooseAnnotation(Struct, gc=False):
    id: Any = None
    image_id: Any = None
    category_id: Any = None
    bbox: Any = None
    area: Any = None


class LooseCategory(Struct, gc=False):
    id: Any = None
    name: Any = None


class LooseCoco(Struct, gc=False):
    images: list[LooseImage] | None | UnsetType = UNSET
    annotations: list[LooseAnnotation] | None | UnsetType = UNSET
    categories: list[LooseCategory] | None | UnsetType = UNSET


_ABSOLUTE_URL = attrgetter("absolute_url")


@functools.cache
def strict_coco(kind_is_detection: bool, min_dim: int, max_dim: int) -> type:
    """A document type whose images also carry integer ``width``/``height`` in ``min_dim..max_dim``.

    Checking them while decoding saves two column passes; a file with integral
    floats (``224.0``, as in Azure's examples) fails this decode and is decoded
    again with the plain :class:`DetCoco`/:class:`ClsCoco`.
    """
    dim = Annotated[int, Meta(ge=min_dim, le=max_dim)]
    image = types.new_class(
        "StrictImage", (Image,), {"gc": False}, lambda ns: ns.update(__annotations__={"width": dim, "height": dim})
    )
    base = DetCoco if kind_is_detection else ClsCoco
    return types.new_class(
        f"Strict{base.__name__}", (base,), {"gc": False}, lambda ns: ns.update(__annotations__={"images": list[image]})
    )


def url_of(im: Image) -> str | None:
    """The image URL the service reads: ``absolute_url``, else ``coco_url``."""
    return im.absolute_url if im.absolute_url is not None else im.coco_url


def images_clean(images: list[Image], options: ValidationOptions, lim: Limits, *, dims_checked: bool = False) -> bool:
    """True only if no per-image field rule (dimensions, URL) fails for any of ``images``.

    ``dims_checked``: the images come from a :func:`strict_coco` decode for these limits.
    """
    n = len(images)
    if not n:
        return True
    if not dims_checked:
        return _dims_clean(images, n, lim) and _urls_of_clean(images, options)
    return _urls_of_clean(images, options)


def dims_clean(images: list[Image], lim: Limits) -> bool:
    """True only if every image's width and height are integral and within ``lim``."""
    return not images or _dims_clean(images, len(images), lim)


def _dims_clean(images: list[Image], n: int, lim: Limits) -> bool:
    try:
        for attr in ("width", "height"):
            dims = np.fromiter(map(attrgetter(attr), images), dtype=np.float64, count=n)
            if (
                not bool(np.isfinite(dims).all())
                or not bool((dims == np.floor(dims)).all())
                or float(dims.min()) < lim.min_dim
                or float(dims.max()) > lim.max_dim
            ):
                return False
    except OverflowError:
        return False
    return True


def _urls_of_clean(images: list[Image], options: ValidationOptions) -> bool:
    urls = list(map(_ABSOLUTE_URL, images))
    if None in urls:  # some images use coco_url (or have no URL yet)
        urls = list(map(url_of, images))
    return urls_clean(urls, options)


def convert_or_none(records: list, typ: type) -> list | None:
    """``records`` (decoded dicts) as typed Structs, or ``None`` if any record breaks a field rule."""
    try:
        return msgspec.convert(records, typ, from_attributes=True)
    except (msgspec.ValidationError, ValueError):
        return None
