"""Names and versions derived from content, so a retry or a crash never makes a second one.

Azure ML keeps a data version string and a job name forever (REFERENCE §3.3, §3.4, §9):
re-creating either under a name already used fails, archived or not. So every name this
backend writes is a function of what it describes:

- a data version is a hash of the label files' content addresses, the annotation kind and
  the converter version: the same labels are the same version (a re-apply is a no-op) and
  changed labels are a new version beside the old one;
- a job name is ``<model>-<spec hash 8>-g<generation>``: a crash after the PUT finds the job
  by name and adopts it; a new generation is used only after a failed or cancelled one.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Final, Iterable
from urllib.parse import urlsplit

from reconcile.backends.azureml.automl_data import CONVERTER_VERSION
from reconcile.backends.base import DesiredDataset, DesiredModel

#: Azure ML's pattern for container names and job ids (REFERENCE §1.1).
NAME_PATTERN: Final = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")
#: Hex digits of the content hash in a data version (64 bits: collisions are not a concern).
VERSION_HEX: Final = 16
#: Hex digits of the spec hash in a job name.
JOB_HASH_HEX: Final = 8
_JOB_NAME = re.compile(r"^(?P<model>.+)-(?P<hash>[0-9a-f]{8})-g(?P<gen>[1-9][0-9]*)$")


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def label_address(uri: str) -> str:
    """A label URI without its query (a SAS token changes, the content address does not)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def data_version(desired: DesiredDataset) -> str:
    """The data asset version of ``desired``: derived from its label files' content, nothing else.

    Properties are tags (updatable in place) and are left out, so a tag change is an update,
    not a new version.
    """
    return _digest({"kind": desired.annotation_kind, "labels": [label_address(u) for u in desired.label_uris],
                    "converter": CONVERTER_VERSION})[:VERSION_HEX]


def model_spec_hash(desired: DesiredModel) -> str:
    """The hash of everything a training run depends on in the spec (the full sha256)."""
    return _digest({"kind": desired.model_kind, "train": desired.training_dataset, "test": desired.test_dataset,
                    "budgetHours": desired.budget_hours})


def job_name(model: str, spec_hash: str, generation: int) -> str:
    """``<model>-<hash8>-g<generation>``. Raises ``ValueError`` for a name Azure ML would refuse."""
    if generation < 1:
        raise ValueError(f"generation must be >= 1, got {generation}")
    name = f"{model}-{spec_hash[:JOB_HASH_HEX]}-g{generation}"
    if not NAME_PATTERN.match(name):
        raise ValueError(f"job name {name!r} does not match {NAME_PATTERN.pattern}")
    return name


def parse_job_name(name: str) -> tuple[str, str, int] | None:
    """``(model, hash8, generation)`` of a name :func:`job_name` made, else ``None``."""
    m = _JOB_NAME.match(name)
    return (m["model"], m["hash"], int(m["gen"])) if m else None


def next_generation(names: Iterable[str], model: str, spec_hash: str) -> int:
    """One more than the highest generation already used for ``model`` at ``spec_hash`` (1 when none)."""
    used = [p[2] for p in map(parse_job_name, names) if p and p[0] == model and p[1] == spec_hash[:JOB_HASH_HEX]]
    return max(used, default=0) + 1


def evaluation_spec_hash(model: str, model_version: str, dataset: str, data_version: str) -> str:
    """The hash of what an evaluation scores: the registered model version on one dataset version."""
    return _digest({"model": model, "modelVersion": model_version, "dataset": dataset, "dataVersion": data_version})


def evaluation_job_name(model: str, evaluation: str, spec_hash: str) -> str:
    """``<model>-<evaluation>-eval-<hash8>``: the same evaluation of the same model and data is the same job,
    so a retry or a crash adopts it. Raises ``ValueError`` for a name Azure ML would refuse."""
    name = f"{model}-{evaluation}-eval-{spec_hash[:JOB_HASH_HEX]}"
    if not NAME_PATTERN.match(name):
        raise ValueError(f"evaluation job name {name!r} does not match {NAME_PATTERN.pattern}")
    return name
