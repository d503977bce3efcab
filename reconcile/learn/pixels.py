"""Decoding image bytes (JPEG, PNG, GIF, BMP) into RGB pixel arrays with Pillow.

:func:`decode` returns a ``float32`` array of shape ``(height, width, 3)`` in 0..1,
or raises :class:`UndecodableImage` naming what is wrong; it never returns a partial
image.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

#: The formats the Vision service accepts for custom models.
FORMATS = frozenset({"JPEG", "PNG", "GIF", "BMP"})
#: Larger images are refused rather than decoded (a decompression bomb guard).
MAX_PIXELS = 64_000_000


class UndecodableImage(ValueError):
    """The bytes are not a complete JPEG/PNG/GIF/BMP image."""


def decode(data: bytes, *, at_least: int | None = None) -> np.ndarray:
    """``at_least``: the caller needs no more than this many pixels per side, so a JPEG may be
    decoded at a reduced scale (1/2 .. 1/8, never below ``at_least``), which is much faster."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.format not in FORMATS:
                    raise UndecodableImage(f"unsupported image format {im.format or 'unknown'} (use JPEG, PNG, GIF or BMP)")
                if im.width * im.height > MAX_PIXELS:
                    raise UndecodableImage(f"image of {im.width}x{im.height} pixels is larger than {MAX_PIXELS} pixels")
                if at_least is not None and im.format == "JPEG":
                    im.draft("RGB", (at_least, at_least))
                im.load()
                if im.mode.startswith("I"):  # 16/32-bit grey: Pillow's RGB conversion would clip at 255
                    grey = np.clip(np.asarray(im, np.float32) / 65535.0, 0.0, 1.0)
                    return np.repeat(grey[:, :, None], 3, axis=2)
                rgb = im.convert("RGB")
    except UndecodableImage:
        raise
    except UnidentifiedImageError:
        raise UndecodableImage("not a JPEG, PNG, GIF or BMP image") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UndecodableImage(f"damaged image data ({exc})") from None
    return np.asarray(rgb, dtype=np.float32) / 255.0
