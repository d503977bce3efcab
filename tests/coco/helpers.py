"""Small valid Azure COCO documents and a JSON-path resolver for coco tests."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

OD = "imageObjectDetection"
IC = "imageClassification"
PREFIX = "https://acct.blob.core.windows.net/images/"

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def base_doc(kind: str) -> dict[str, Any]:
    """Four 100x80 images, two categories each on two images; boxes on detection. Valid with no warnings."""
    images = [
        {"id": i, "width": 100, "height": 80, "file_name": f"{i}.jpg", "absolute_url": f"{PREFIX}{i}.jpg"}
        for i in range(1, 5)
    ]
    anns = []
    for i in range(1, 5):
        a: dict[str, Any] = {"id": i, "image_id": i, "category_id": 1 + (i - 1) // 2}
        if kind == OD:
            a["bbox"] = [0.1, 0.2, 0.3, 0.4]
            a["area"] = 0.12
        anns.append(a)
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    return {"images": images, "annotations": anns, "categories": cats}


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def clone(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc)


def resolve(doc: Any, path: str) -> Any:
    """Follow a report path such as ``annotations[3].bbox[2]`` into ``doc``; ``$`` is the root.

    Raises ``KeyError``/``IndexError``/``ValueError`` when the path does not name a place in ``doc``
    (a missing *last* key is allowed: "missing field" problems point at where it should be).
    """
    if path == "$":
        return doc
    pos, cur = 0, doc
    steps = []
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad path {path!r} at {pos}")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    for n, step in enumerate(steps):
        last = n == len(steps) - 1
        if isinstance(step, int):
            cur = cur[step]
        elif last and isinstance(cur, dict) and step not in cur:
            return None
        else:
            cur = cur[step]
    return cur
