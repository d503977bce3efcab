"""A minimal PNG encoder and decoder (8-bit greyscale or RGB, no interlace).

Enough for the demo image set and for reading image sizes; written here so the
project needs no imaging library. The encoder is deterministic: the same pixels
give the same bytes (one IDAT chunk, zlib level 9, fixed filter choice).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 3: 2}  # channels -> PNG colour type (0 greyscale, 2 truecolour)
_CHANNELS = {0: 1, 2: 3}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of ``pixels``: a ``uint8`` array of shape (H, W) or (H, W, 3).

    Every row uses the Sub filter (each byte minus the byte one pixel to the left),
    which suits smooth backgrounds with flat shapes. Raises ``ValueError`` on any
    other shape or dtype.
    """
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, not {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in _COLOR_TYPES or 0 in pixels.shape:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, 3), not {pixels.shape}")
    h, w, c = pixels.shape
    rows = pixels.reshape(h, w * c)
    sub = rows.copy()
    sub[:, c:] = rows[:, c:] - rows[:, :-c]  # uint8 arithmetic wraps modulo 256, as PNG wants
    raw = np.empty((h, 1 + w * c), dtype=np.uint8)
    raw[:, 0] = 1  # filter type 1 = Sub
    raw[:, 1:] = sub
    ihdr = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPES[c], 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + _chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG's header. Raises ``ValueError`` if ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decode_png(data: bytes) -> np.ndarray:
    """Pixels of an 8-bit greyscale or RGB, non-interlaced PNG, as (H, W) or (H, W, 3) ``uint8``.

    Raises ``ValueError`` for anything else (other bit depths, palettes, alpha,
    interlacing, corrupt data).
    """
    w, h = png_size(data)
    pos = 8
    idat = bytearray()
    header = None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ValueError("truncated PNG chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError("PNG without IHDR")
    _w, _h, depth, color_type, _comp, _filt, interlace = header
    if depth != 8 or color_type not in _CHANNELS or interlace != 0:
        raise ValueError("only 8-bit greyscale/RGB non-interlaced PNGs are supported")
    c = _CHANNELS[color_type]
    stride = w * c
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise ValueError(f"corrupt PNG data: {exc}") from None
    if len(raw) != h * (stride + 1):
        raise ValueError("PNG data has the wrong size")
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:
            # Sub: a running sum per channel, modulo 256.
            cur = (np.cumsum(line.reshape(w, c), axis=0) & 0xFF).reshape(stride)
        elif f == 2:
            cur = (line + prev) & 0xFF
        elif f == 3:
            cur = line.copy()
            for x in range(stride):
                left = cur[x - c] if x >= c else 0
                cur[x] = (cur[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif f == 4:
            cur = line.copy()
            for x in range(stride):
                a = int(cur[x - c]) if x >= c else 0
                b = int(prev[x])
                cc = int(prev[x - c]) if x >= c else 0
                p = a + b - cc
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
                cur[x] = (cur[x] + pred) & 0xFF
        else:
            raise ValueError(f"unknown PNG filter type {f}")
        out[y] = cur
        prev = cur
    pixels = out.astype(np.uint8).reshape(h, w, c)
    return pixels[:, :, 0] if c == 1 else pixels
