"""The inventory document: one JSON object per environment.

Format (``format`` 1)::

    {"format": 1, "environment": "prod", "generation": 7,
     "records": {"model/clf": {"address": ..., "kind": "Model", ...}}}

``generation`` counts successful writes; stores refuse a write whose expected
generation (or blob eTag) is not the current one.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

FORMAT = 1

Kind = Literal["Dataset", "Model", "Evaluation", "Deployment"]


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Doc(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class Intent(_Doc):
    """Written *before* a create is sent: the resource may exist even if nothing else was recorded."""

    spec_hash: str
    """The spec the submission was made from."""
    at: str
    """When the submission was about to be sent (UTC, ISO 8601)."""
    run: str = ""
    """Who submitted it (CI run or user@host), for humans."""


class ResourceRecord(_Doc):
    """One resource this tool created or adopted."""

    address: str
    kind: Kind
    name: str
    model: str | None = None
    """The parent model of an evaluation."""
    spec_hash: str | None = None
    """Hash of the spec at the last apply (see :func:`reconcile.specs.fingerprint.spec_hash`)."""
    live_fingerprint: str | None = None
    """Fingerprint of the live object right after the last apply (drift: changed in the service)."""
    labels_digest: str | None = None
    """Datasets: the label digest registered. Models: the training dataset's digest when training was submitted."""
    protect: bool = False
    """Refuse deletion and replacement, even after the spec is removed."""
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    intent: Intent | None = None
    """Set before a create is sent, cleared once the resource is seen live after apply."""


class Inventory(_Doc):
    format: int = FORMAT
    environment: str = ""
    generation: int = 0
    records: dict[str, ResourceRecord] = Field(default_factory=dict)

    def with_records(self, records: dict[str, ResourceRecord]) -> "Inventory":
        return self.model_copy(update={"records": dict(sorted(records.items()))})

    def to_json(self) -> bytes:
        return (self.model_dump_json(by_alias=True, indent=1) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, *, where: str) -> "Inventory":
        from reconcile.errors import ConfigError

        try:
            inv = cls.model_validate_json(data)
        except ValueError as exc:
            raise ConfigError(f"{where}: the inventory is not valid JSON of format {FORMAT} "
                              f"({str(exc).splitlines()[0]})",
                              hint="restore it from a backup or the blob's previous version; never edit it by hand") from None
        if inv.format != FORMAT:
            raise ConfigError(f"{where}: inventory format {inv.format} is not supported (this version reads {FORMAT})",
                              hint="upgrade vision-gitops")
        return inv
