"""COCO label files → AutoML for images JSONL and its MLTable, and the checks both must pass.

AutoML reads a data asset as a folder holding a file named ``MLTable`` (YAML) that names
JSON-lines files; each line is one image (REFERENCE §6). Our COCO variant stores boxes as
relative ``[left, top, width, height]``; AutoML wants normalised corners
(``topX, topY, bottomX, bottomY``). Mistakes in either file otherwise surface minutes into
a paid job, so :func:`validate_jsonl` and :func:`validate_mltable` run at plan time on
exactly the bytes apply uploads.

Classification becomes multi-label when any image carries more than one label.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Final

import yaml

from reconcile import safejson
from reconcile.errors import CocoError, InputError
from reconcile.limits import LABEL_FILE_BYTES, SPEC_FILE_BYTES

#: The JSONL file inside each data asset folder, and the table file AutoML opens.
JSONL_NAME: Final = "annotations.jsonl"
MLTABLE_NAME: Final = "MLTable"
#: Image formats AutoML accepts in ``image_details.format`` (REFERENCE §6).
IMAGE_FORMATS: Final = frozenset({"jpg", "jpeg", "png", "jpe", "jfif", "bmp", "tif", "tiff"})
#: Bumped when the conversion's output changes, so data versions made by an older converter differ.
CONVERTER_VERSION: Final = "1"


class AutoMLTask(str, enum.Enum):
    """The AutoML vertical (``taskDetails.taskType``) a dataset feeds."""

    CLASSIFICATION = "ImageClassification"
    MULTILABEL = "ImageClassificationMultilabel"
    DETECTION = "ImageObjectDetection"

    @property
    def primary_metric(self) -> str:
        return {"ImageClassification": "Accuracy", "ImageClassificationMultilabel": "IOU",
                "ImageObjectDetection": "MeanAveragePrecision"}[self.value]


@dataclass(frozen=True, slots=True)
class AutoMLData:
    """One dataset as AutoML reads it: the JSONL bytes, the MLTable text and what they hold."""

    task: AutoMLTask
    jsonl: bytes
    mltable: str
    labels: tuple[str, ...]
    """The class names, sorted."""
    images: int
    image_blobs: tuple[str, ...]
    """Blob names (container-relative) every line reads, so apply can check they exist."""


def mltable_text(jsonl_name: str = JSONL_NAME) -> str:
    """The MLTable that makes AutoML read ``jsonl_name`` and download its ``image_url`` column."""
    return (
        "paths:\n"
        f"  - file: ./{jsonl_name}\n"
        "transformations:\n"
        "  - read_json_lines:\n"
        "      encoding: utf8\n"
        "      invalid_lines: error\n"
        "      include_path_column: false\n"
        "  - convert_column_types:\n"
        "      - columns: image_url\n"
        "        column_type: stream_info\n"
    )


def _clamp(v: float) -> float:
    return min(1.0, max(0.0, round(float(v), 6)))


def _image_format(file_name: str) -> str | None:
    ext = PurePosixPath(file_name).suffix.lower().lstrip(".")
    return ext if ext in IMAGE_FORMATS else None


def convert_coco(
    sources: Iterable[tuple[str, bytes]],
    *,
    detection: bool,
    locate: Callable[[str], str | None],
    datastore_uri: Callable[[str], str],
) -> AutoMLData:
    """Convert COCO files (``(shown, bytes)``, in spec order) into one AutoML dataset.

    ``locate`` maps an image's URL (its ``absolute_url``/``coco_url``, as uploaded) to its blob
    name in the datastore container, or ``None`` when the URL is elsewhere (refused: AutoML
    reads only its datastores); ``datastore_uri`` turns a blob name into the ``azureml://`` URI.
    Raises :class:`CocoError` naming the file and image for anything AutoML cannot read.
    """
    lines: list[str] = []
    blobs: list[str] = []
    labels: set[str] = set()
    multi = False
    rows: list[dict[str, Any]] = []
    for shown, data in sources:
        doc = safejson.loads(data, limit=LABEL_FILE_BYTES, shown=shown)
        if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
            raise CocoError(f"{shown}: not a COCO file (no 'images' list)", hint=f"run: reconcile coco validate {shown}")
        cats = {c.get("id"): str(c.get("name")) for c in doc.get("categories") or [] if isinstance(c, dict)}
        by_image: dict[Any, list[dict[str, Any]]] = {}
        for a in doc.get("annotations") or []:
            if isinstance(a, dict):
                by_image.setdefault(a.get("image_id"), []).append(a)
        for i, im in enumerate(doc["images"]):
            where = f"{shown}: images[{i}]"
            if not isinstance(im, dict):
                raise CocoError(f"{where} is not an object")
            url = im.get("absolute_url") or im.get("coco_url")
            blob = locate(url) if isinstance(url, str) else None
            if blob is None:
                raise CocoError(
                    f"{where} ({im.get('file_name')!r}) is not in the workspace datastore",
                    hint="give the dataset a local `images:` folder so apply uploads the images to the datastore",
                )
            fmt = _image_format(str(im.get("file_name") or blob))
            if fmt is None:
                raise CocoError(f"{where}: {im.get('file_name')!r} is not an image format AutoML reads",
                                hint=f"use one of: {', '.join(sorted(IMAGE_FORMATS))}")
            details: dict[str, Any] = {"format": fmt}
            if isinstance(im.get("width"), int) and isinstance(im.get("height"), int):
                details.update(width=f"{im['width']}px", height=f"{im['height']}px")
            anns = by_image.get(im.get("id"), [])
            names = []
            for a in anns:
                name = cats.get(a.get("category_id"))
                if name is None:
                    raise CocoError(f"{where}: an annotation names category {a.get('category_id')!r}, which is not listed")
                names.append(name)
            labels.update(names)
            if detection:
                boxes = []
                for a, name in zip(anns, names):
                    bbox = a.get("bbox")
                    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
                        raise CocoError(f"{where}: annotation {a.get('id')!r} has no [left, top, width, height] bbox")
                    left, top, w, h = (float(v) for v in bbox)
                    boxes.append({"label": name, "topX": _clamp(left), "topY": _clamp(top),
                                  "bottomX": _clamp(left + w), "bottomY": _clamp(top + h), "isCrowd": 0})
                label: Any = boxes
            else:
                if not names:
                    continue  # an unlabelled image teaches a classifier nothing (REFERENCE §6)
                multi = multi or len(set(names)) > 1
                label = sorted(set(names))
            rows.append({"image_url": datastore_uri(blob), "image_details": details, "label": label})
            blobs.append(blob)
    task = AutoMLTask.DETECTION if detection else (AutoMLTask.MULTILABEL if multi else AutoMLTask.CLASSIFICATION)
    for row in rows:
        if task is AutoMLTask.CLASSIFICATION:
            row["label"] = row["label"][0]
        lines.append(json.dumps(row, separators=(",", ":"), sort_keys=True))
    jsonl = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    data = AutoMLData(task=task, jsonl=jsonl, mltable=mltable_text(), labels=tuple(sorted(labels)),
                      images=len(rows), image_blobs=tuple(blobs))
    validate_jsonl(data.jsonl, task, shown=JSONL_NAME)
    validate_mltable(data.mltable, shown=MLTABLE_NAME)
    return data


def validate_jsonl(data: bytes, task: AutoMLTask, *, shown: str) -> int:
    """Check every line as AutoML will read it; return the line count.

    Raises :class:`InputError` naming ``shown``, the line and what is wrong.
    """
    if not data.strip():
        raise InputError(f"{shown}: no labelled images", hint="a dataset for AutoML needs labelled images")
    count = 0
    for n, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
        where = f"{shown}:{n}"
        try:
            row = json.loads(raw)
        except ValueError:
            raise InputError(f"{where}: not a JSON object") from None
        if not isinstance(row, dict):
            raise InputError(f"{where}: not a JSON object")
        url = row.get("image_url")
        if not isinstance(url, str) or not url.startswith("azureml://") or "/paths/" not in url:
            raise InputError(f"{where}: image_url must be an azureml://…/datastores/<ds>/paths/<path> URI")
        details = row.get("image_details", {})
        if not isinstance(details, dict) or details.get("format", "jpg") not in IMAGE_FORMATS:
            raise InputError(f"{where}: image_details.format must be one of {', '.join(sorted(IMAGE_FORMATS))}")
        label = row.get("label")
        if task is AutoMLTask.CLASSIFICATION:
            ok = isinstance(label, str) and bool(label)
        elif task is AutoMLTask.MULTILABEL:
            ok = isinstance(label, list) and all(isinstance(x, str) and x for x in label)
        else:
            ok = isinstance(label, list) and all(_box_ok(b) for b in label)
        if not ok:
            raise InputError(f"{where}: label does not have the {task.value} shape (REFERENCE §6)")
        count += 1
    return count


def _box_ok(box: Any) -> bool:
    if not isinstance(box, dict) or not isinstance(box.get("label"), str):
        return False
    try:
        tx, ty, bx, by = (float(box[k]) for k in ("topX", "topY", "bottomX", "bottomY"))
    except (KeyError, TypeError, ValueError):
        return False
    return 0.0 <= tx < bx <= 1.0 and 0.0 <= ty < by <= 1.0


#: MLTable texts already found valid in this process (every dataset's MLTable is the same few bytes, and
#: parsing YAML is most of a no-op plan's check per dataset). Small and bounded.
_VALID_MLTABLES: set[tuple[str, str]] = set()
_VALID_MLTABLES_MAX = 16


def validate_mltable(text: str, *, shown: str, jsonl_name: str = JSONL_NAME) -> None:
    """Check an MLTable the way AutoML needs it: it names ``jsonl_name`` relative to its folder,
    reads JSON lines and turns ``image_url`` into a stream column.

    Raises :class:`InputError` naming ``shown`` and the missing piece.
    """
    if (text, jsonl_name) in _VALID_MLTABLES:
        return
    _check_mltable(text, shown=shown, jsonl_name=jsonl_name)
    if len(_VALID_MLTABLES) < _VALID_MLTABLES_MAX:
        _VALID_MLTABLES.add((text, jsonl_name))


def _check_mltable(text: str, *, shown: str, jsonl_name: str) -> None:
    if len(text.encode("utf-8")) > SPEC_FILE_BYTES.value:
        raise InputError(f"{shown}: larger than {SPEC_FILE_BYTES.value} bytes")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{shown}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{shown}: not a YAML mapping")
    paths = doc.get("paths")
    files = [p.get("file") for p in paths if isinstance(p, dict)] if isinstance(paths, list) else []
    if f"./{jsonl_name}" not in files and jsonl_name not in files:
        raise InputError(f"{shown}: paths must list file ./{jsonl_name} (the folder's JSONL)",
                         hint="a wrong path is AutoML's 'Not able to find MLTable file' minutes into the job")
    steps = doc.get("transformations")
    steps = steps if isinstance(steps, list) else []
    if not any(isinstance(s, dict) and "read_json_lines" in s for s in steps):
        raise InputError(f"{shown}: transformations must include read_json_lines")
    streams = [c for s in steps if isinstance(s, dict) for c in (s.get("convert_column_types") or [])
               if isinstance(c, dict) and c.get("columns") in ("image_url", ["image_url"])
               and c.get("column_type") == "stream_info"]
    if not streams:
        raise InputError(f"{shown}: image_url must be converted to column_type stream_info",
                         hint="without it AutoML cannot download the images ('AutoML Image error')")
