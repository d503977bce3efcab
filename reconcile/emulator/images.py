"""Image width and height from the file header (PNG, JPEG, GIF, BMP) without decoding pixels.

:func:`image_size` returns ``(width, height)`` or raises :class:`ImageFormatError`
when the bytes are none of those formats or the header is truncated.
"""

from __future__ import annotations

import struct


class ImageFormatError(ValueError):
    """Not a PNG, JPEG, GIF or BMP image, or its header is damaged."""


def image_size(data: bytes) -> tuple[int, int]:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageFormatError("truncated PNG header")
        w, h = struct.unpack(">II", data[16:24])
        return _checked(w, h)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        if len(data) < 10:
            raise ImageFormatError("truncated GIF header")
        w, h = struct.unpack("<HH", data[6:10])
        return _checked(w, h)
    if data.startswith(b"BM"):
        if len(data) < 26:
            raise ImageFormatError("truncated BMP header")
        header_size = struct.unpack("<I", data[14:18])[0]
        if header_size == 12:
            w, h = struct.unpack("<HH", data[18:22])
        else:
            w, h = struct.unpack("<ii", data[18:26])
        return _checked(abs(w), abs(h))  # negative height = top-down rows
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    raise ImageFormatError("not a PNG, JPEG, GIF or BMP image")


# Start-of-frame markers carry the dimensions (all SOFn except DHT C4, JPG C8, DAC CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise ImageFormatError("damaged JPEG marker stream")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in _SOF:
            if i + 9 > n:
                break
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return _checked(w, h)
        if marker == 0xD9:
            break
        i += 2 + length
    raise ImageFormatError("JPEG without a frame header")


def _checked(w: int, h: int) -> tuple[int, int]:
    if w < 1 or h < 1:
        raise ImageFormatError(f"image header gives an empty size {w}x{h}")
    return int(w), int(h)
