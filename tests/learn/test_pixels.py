"""Decoding: the four formats the service takes; anything else is refused with a reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from reconcile.learn.pixels import UndecodableImage, decode


def _encoded(fmt: str) -> bytes:
    img = Image.new("RGB", (8, 6), (255, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP"])
def test_supported_formats_decode_to_rgb(fmt):
    rgb = decode(_encoded(fmt))
    assert rgb.shape == (6, 8, 3) and rgb.dtype == np.float32
    assert rgb[..., 0].mean() > 0.9 and rgb[..., 2].mean() < 0.1


@pytest.mark.parametrize(("mode", "fmt", "value", "expected"), [
    ("L", "PNG", 200, 200 / 255),
    ("I;16", "PNG", 40000, 40000 / 65535),  # 16-bit grey is scaled, not clipped
    ("RGBA", "PNG", (0, 0, 255, 128), 0.0),
    ("P", "GIF", 0, 0.0),
])
def test_other_pixel_modes_become_rgb(mode, fmt, value, expected):
    img = Image.new(mode, (8, 6), value)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    rgb = decode(buf.getvalue())
    assert rgb.shape == (6, 8, 3) and rgb[0, 0, 0] == pytest.approx(expected, abs=1e-3)


def test_unsupported_format_is_named():
    with pytest.raises(UndecodableImage, match="TIFF"):
        decode(_encoded("TIFF"))


def test_truncated_and_garbage_bytes_are_refused():
    with pytest.raises(UndecodableImage):
        decode(_encoded("PNG")[:40])
    with pytest.raises(UndecodableImage):
        decode(b"definitely not an image")
