"""JSON Schemas of the spec files and the project config, generated from the models.

Editors pick them up through a first line such as
``# yaml-language-server: $schema=../schemas/specs.schema.json`` and then
complete and check fields while typing. The committed files under ``schemas/``
are kept current by a test that regenerates them in memory.

The schemas cover the shape of one document (fields, types, enums, name pattern);
rules that need the other specs or the api-version (references, budget caps) are
checked by ``reconcile validate``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from reconcile.api import names
from reconcile.specs.config import ProjectFile
from reconcile.specs.models import AnySpec

SPECS_SCHEMA = "specs.schema.json"
CONFIG_SCHEMA = "config.schema.json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NAME_FIELDS = {
    "DatasetSpec": ("name",),
    "ModelSpec": ("name", "trainingDataset", "testDataset"),
    "EvaluationSpec": ("name", "model", "dataset"),
}


def specs_schema() -> dict[str, Any]:
    """The schema of one spec document (a Dataset, Model or Evaluation, chosen by ``kind``)."""
    schema = TypeAdapter(AnySpec).json_schema(by_alias=True, mode="validation")
    # The name rules live in validators; repeat them as patterns so editors flag bad names too.
    for model, fields in _NAME_FIELDS.items():
        props = schema["$defs"][model]["properties"]
        for f in fields:
            target = props[f]
            if "anyOf" in target:
                target = next(t for t in target["anyOf"] if t.get("type") == "string")
            target["pattern"] = names.NAME_PATTERN.pattern
            target["maxLength"] = names.MAX_NAME_LENGTH
    props = schema["$defs"]["DatasetSpec"]["properties"]["customProperties"]
    props["maxProperties"] = names.MAX_CUSTOM_PROPERTIES
    return {
        "$schema": _DIALECT,
        "title": "vision-gitops spec (Dataset, Model or Evaluation)",
        **schema,
    }


def config_schema() -> dict[str, Any]:
    """The schema of ``vision-gitops.yaml``."""
    schema = ProjectFile.model_json_schema(by_alias=True, mode="validation")
    schema.pop("title", None)
    return {"$schema": _DIALECT, "title": "vision-gitops project config (vision-gitops.yaml)", **schema}


def render_schemas() -> dict[str, str]:
    """File name -> exact text of every schema file (stable: same models, same bytes)."""
    return {
        SPECS_SCHEMA: json.dumps(specs_schema(), indent=2, ensure_ascii=False) + "\n",
        CONFIG_SCHEMA: json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n",
    }


def write_schemas(out_dir: Path) -> list[Path]:
    """Write every schema file into ``out_dir`` (created if needed); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
