"""Reading and decoding a dataset's images for a training or evaluation run.

:func:`load_image` returns one image's RGB pixels or raises
:class:`~reconcile.emulator.judge.RunFailed` with the code the service reports:
``datasetNotFound`` when the image has no URL or its URL cannot be read,
``datasetCorrupt`` when the bytes are not a JPEG/PNG/GIF/BMP image. The message
names the image and the dataset (never a SAS query string).
"""

from __future__ import annotations

import numpy as np

from reconcile.emulator.fetch import FetchError, read_uri
from reconcile.emulator.judge import RunFailed
from reconcile.emulator.labeled import LabeledData, LabeledImage
from reconcile.learn.pixels import UndecodableImage, decode


def load_image(data: LabeledData, image: LabeledImage, *, at_least: int | None = None) -> np.ndarray:
    """``at_least``: as :func:`reconcile.learn.pixels.decode` (a JPEG may be decoded smaller)."""
    where = f"image '{image.file_name}' of dataset '{data.source}'"
    if not image.url:
        raise RunFailed("datasetNotFound", f"The {where} has no URL (absolute_url or coco_url).")
    try:
        raw = read_uri(image.url, data.auth, file_roots=data.file_roots)
    except FetchError as exc:
        raise RunFailed("datasetNotFound", f"The {where} could not be read: {exc}") from None
    try:
        return decode(raw, at_least=at_least)
    except UndecodableImage as exc:
        raise RunFailed("datasetCorrupt", f"The {where} is not a valid image: {exc}") from None
