"""The synthetic-shapes set: deterministic, committed files current, valid COCO, real PNGs."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from reconcile.demo import shapes
from reconcile.demo.png import decode_png, encode_png, png_size

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "shapes"


def test_committed_set_is_byte_identical_to_a_fresh_generation() -> None:
    fresh = dict(shapes.iter_files())
    committed = {
        p.relative_to(DATA).as_posix(): p.read_bytes()
        for p in DATA.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert sorted(committed) == sorted(fresh), "file set differs: run `python -m reconcile.demo.shapes data/shapes`"
    stale = [name for name, data in fresh.items() if committed[name] != data]
    assert not stale, f"stale files (regenerate and commit): {stale[:5]}"


def test_generation_is_deterministic_and_seeded(tmp_path: Path) -> None:
    kwargs = {"train": 6, "test": 6, "size": 50}
    a = dict(shapes.iter_files(seed=1, **kwargs))
    shapes.generate(tmp_path, seed=1, **kwargs)
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == a
    b = dict(shapes.iter_files(seed=2, **kwargs))
    assert a.keys() == b.keys() and a != b


def test_set_is_small() -> None:
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 500 * 1024


@pytest.mark.parametrize("task,kind", [("classification", "imageClassification"), ("detection", "imageObjectDetection")])
def test_coco_files_are_valid_for_the_service(task: str, kind: str) -> None:
    from reconcile.coco.options import ValidationOptions
    from reconcile.coco.validate import validate_file

    for split, purpose in (("train", "train"), ("test", "eval")):
        path = DATA / task / f"{split}.coco.json"
        report = validate_file(path, ValidationOptions(kind=kind, purpose=purpose, require_urls=False))
        assert report.valid, report.problems
        doc = json.loads(path.read_text())
        for image in doc["images"]:
            assert "absolute_url" not in image and "coco_url" not in image
            assert png_size((DATA / task / "images" / image["file_name"]).read_bytes()) == (image["width"], image["height"])
        if task == "classification":
            assert sorted(a["image_id"] for a in doc["annotations"]) == [im["id"] for im in doc["images"]]


def test_detection_boxes_match_the_drawn_pixels() -> None:
    """Each box is tight around pixels that differ from the speckled background."""
    doc = json.loads((DATA / "detection" / "train.coco.json").read_text())
    by_image: dict[int, list[list[float]]] = {}
    for a in doc["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a["bbox"])
    for image in doc["images"][:10]:
        pixels = decode_png((DATA / "detection" / "images" / image["file_name"]).read_bytes()).astype(int)
        w, h = image["width"], image["height"]
        for left, top, bw, bh in by_image[image["id"]]:
            x0, y0 = round(left * w), round(top * h)
            x1, y1 = x0 + round(bw * w), y0 + round(bh * h)
            inside = pixels[y0:y1, x0:x1]
            # the shape colour (a palette entry) appears on each edge row/column of its box
            colours = {tuple(c) for c in shapes.PALETTE}
            for edge in (inside[0], inside[-1], inside[:, 0], inside[:, -1]):
                assert any(tuple(px) in colours for px in edge)


def test_png_round_trip_and_errors() -> None:
    rng = np.random.default_rng(0)
    for shape in ((3, 5, 3), (7, 4)):
        pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        data = encode_png(pixels)
        assert png_size(data) == (shape[1], shape[0])
        assert np.array_equal(decode_png(data), pixels)
    with pytest.raises(ValueError):
        encode_png(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(ValueError):
        encode_png(np.zeros((2, 2, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(b"GIF89a" + b"\0" * 30)


def test_png_decoder_handles_every_filter_type() -> None:
    """Hand-built rows with filters 0-4 (what other encoders write) decode to the same pixels."""
    pixels = np.random.default_rng(3).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    enc = encode_png(pixels)
    raw_rows = []
    prev = np.zeros(12, dtype=int)
    for f, row in enumerate(pixels.reshape(5, 12).astype(int)):
        left = np.concatenate([[0, 0, 0], row[:-3]])
        upleft = np.concatenate([[0, 0, 0], prev[:-3]])
        if f == 0:
            out = row
        elif f == 1:
            out = row - left
        elif f == 2:
            out = row - prev
        elif f == 3:
            out = row - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            out = row - pred
        raw_rows.append(bytes([f]) + bytes((out % 256).astype(np.uint8)))
        prev = row
    idat = zlib.compress(b"".join(raw_rows))
    head = enc[: enc.index(b"IDAT") - 4]
    import struct

    chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    data = head + chunk + enc[enc.index(b"IEND") - 4 :]
    assert np.array_equal(decode_png(data), pixels)


def test_generator_refuses_too_small_images() -> None:
    with pytest.raises(ValueError, match="at least 50 px"):
        list(shapes.iter_files(size=32))
