"""Reading an AutoML image data input: the MLTable file, its JSON Lines and the images they name.

:func:`load_examples` mirrors what AutoML checks before training and fails with the
service's kind of message (``MLTable input is invalid ...``) as :class:`DataError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from reconcile import safejson
from reconcile.emulator.azureml.datastore import BlobDatastore, DataError, datastore_path
from reconcile.emulator.azureml.learner import CLASSIFICATION, DETECTION, MULTILABEL, Box, Example, decode_image
from reconcile.errors import InputError
from reconcile.limits import JSON_DEPTH, LABEL_FILE_BYTES, SPEC_FILE_BYTES, YAML_ALIASES

#: More lines than this in one input are refused (the emulator keeps everything in memory).
MAX_LINES = 20_000


@dataclass(frozen=True, slots=True)
class LabeledInput:
    """The examples of one input and the class names they use (sorted)."""

    examples: tuple[Example, ...]
    classes: tuple[str, ...]


def _invalid(why: str) -> DataError:
    return DataError(f"MLTable input is invalid: {why}")


def jsonl_paths(mltable_text: str) -> list[str]:
    """The ``paths[].file`` of an MLTable that reads JSON Lines with ``image_url`` as ``stream_info``."""
    try:
        # Aliases are counted before loading: a few nested ones expand to gigabytes (an "alias bomb").
        aliases = sum(isinstance(e, yaml.AliasEvent) for e in yaml.parse(mltable_text, Loader=yaml.SafeLoader))
        if aliases > YAML_ALIASES.value:
            raise _invalid(f"the MLTable file uses more than the {YAML_ALIASES.name} limit of "
                           f"{YAML_ALIASES.shown} aliases")
        doc = yaml.safe_load(mltable_text)
    except yaml.YAMLError as exc:
        raise _invalid(f"the MLTable file is not YAML ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), list) or not doc["paths"]:
        raise _invalid("the MLTable file needs a non-empty 'paths' list")
    files = []
    for i, entry in enumerate(doc["paths"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise _invalid(f"paths[{i}] must be {{file: <path>}} (folders and patterns are not supported here)")
        files.append(entry["file"])
    steps = doc.get("transformations") or []
    names = [next(iter(s)) if isinstance(s, dict) and s else s for s in steps]
    if "read_json_lines" not in names:
        raise _invalid("the MLTable file must have a read_json_lines transformation")
    stream = False
    for s in steps:
        if isinstance(s, dict) and "convert_column_types" in s:
            for conv in s["convert_column_types"] or []:
                cols = conv.get("columns") if isinstance(conv, dict) else None
                cols = [cols] if isinstance(cols, str) else (cols or [])
                if "image_url" in cols and conv.get("column_type") == "stream_info":
                    stream = True
    if not stream:
        raise _invalid("column 'image_url' must be converted to column_type stream_info "
                       "(AutoML Image error: the images cannot be downloaded otherwise)")
    return files


def _label(task: str, raw: Any, line: int, where: str) -> tuple[tuple[str, ...], tuple[Box, ...]]:
    if task == CLASSIFICATION:
        if not isinstance(raw, str) or not raw:
            raise _invalid(f"{where} line {line}: 'label' must be a class name for multi-class classification")
        return (raw,), ()
    if task == MULTILABEL:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise _invalid(f"{where} line {line}: 'label' must be a list of class names for multi-label")
        return tuple(dict.fromkeys(raw)), ()
    if not isinstance(raw, list):
        raise _invalid(f"{where} line {line}: 'label' must be a list of boxes for object detection")
    boxes = []
    for b in raw:
        try:
            box = Box(str(b["label"]), float(b["topX"]), float(b["topY"]), float(b["bottomX"]), float(b["bottomY"]))
        except (KeyError, TypeError, ValueError):
            raise _invalid(f"{where} line {line}: a box needs label, topX, topY, bottomX, bottomY") from None
        if not (0 <= box.top_x < box.bottom_x <= 1 and 0 <= box.top_y < box.bottom_y <= 1):
            raise _invalid(f"{where} line {line}: box of '{box.label}' is not normalised corners in [0, 1]")
        if not b.get("isCrowd"):
            boxes.append(box)
    return tuple(dict.fromkeys(b.label for b in boxes)), tuple(boxes)


def load_examples(store: BlobDatastore, data_uri: str, task: str) -> LabeledInput:
    """Read the MLTable folder at ``data_uri``, its JSONL files and every image (decoded)."""
    _, folder = datastore_path(data_uri if data_uri.endswith("/") else data_uri + "/")
    try:
        text = store.read(f"{folder.rstrip('/')}/MLTable", SPEC_FILE_BYTES).decode("utf-8", "replace")
    except DataError:
        raise _invalid(f"Not able to find MLTable file in '{data_uri}' (dataUri must name the folder "
                       "that holds the file named MLTable)") from None
    examples: list[Example] = []
    for file in jsonl_paths(text):
        raw = store.read_uri(file, base=folder, limit=LABEL_FILE_BYTES)
        lines = raw.decode("utf-8", "replace").splitlines()
        if len(lines) > MAX_LINES:
            raise _invalid(f"{file} has more than {MAX_LINES} lines")
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = safejson.loads(line, limit=LABEL_FILE_BYTES, shown=f"{file} line {n}")
            except (InputError, ValueError):
                raise _invalid(f"{file} line {n} is not JSON (or nests deeper than {JSON_DEPTH.shown})") from None
            if not isinstance(row, dict) or not isinstance(row.get("image_url"), str):
                raise _invalid(f"{file} line {n}: 'image_url' is required")
            labels, boxes = _label(task, row.get("label"), n, file)
            if task != DETECTION and not labels:
                continue
            try:
                pixels = decode_image(store.read_uri(row["image_url"], base=folder))
            except (ValueError, DataError) as exc:
                raise DataError(f"AutoML Image error: {row['image_url']} ({file} line {n}): {exc}") from None
            examples.append(Example(pixels=pixels, labels=labels, boxes=boxes))
    if not examples:
        raise _invalid(f"'{data_uri}' holds no labeled images")
    classes = tuple(sorted({c for e in examples for c in e.labels}))
    return LabeledInput(tuple(examples), classes)
