"""Every limit on untrusted input, in one place (documented in docs/limits.md).

A pull request controls specs, label files, images and the project config, and a
network peer controls the bytes it answers; each reader of such input takes its
cap from here, so a bigger or deeper input is refused with a message naming the
limit instead of exhausting memory or time. ``tests/test_limits.py`` checks the
table in docs/limits.md against :data:`LIMITS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Unit = Literal["bytes", "levels", "count", "chars"]

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB


@dataclass(frozen=True, slots=True)
class Limit:
    """One cap: its name (as docs/limits.md and error messages show it), value and unit."""

    name: str
    value: int
    unit: Unit
    applies_to: str
    """What the cap bounds, in words (the docs table's third column)."""

    def __str__(self) -> str:
        return f"{self.name} = {self.shown}"

    @property
    def shown(self) -> str:
        """The value for humans: ``2 GiB``, ``64 levels``, ``2048 chars``."""
        if self.unit == "bytes":
            return human_bytes(self.value)
        if self.unit == "count":
            return f"{self.value:,}"
        return f"{self.value:,} {self.unit}"


def human_bytes(n: int) -> str:
    for size, suffix in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if n >= size and n % size == 0:
            return f"{n // size} {suffix}"
    return f"{n} bytes"


def _limit(name: str, value: int, unit: Unit, applies_to: str) -> Limit:
    return Limit(name, value, unit, applies_to)


# --- files and documents we read (sizes are checked before reading) ------------------------
SPEC_FILE_BYTES = _limit("specFileBytes", 1 * MIB, "bytes", "one spec YAML file")
CONFIG_FILE_BYTES = _limit("configFileBytes", 256 * KIB, "bytes", "vision-gitops.yaml")
STACK_OUTPUTS_BYTES = _limit("stackOutputsBytes", 256 * KIB, "bytes", "a `pulumi stack output --json` file")
PLAN_FILE_BYTES = _limit("planFileBytes", 64 * MIB, "bytes", "a saved plan read by `reconcile apply FILE`")
LABEL_FILE_BYTES = _limit("labelFileBytes", 2 * GIB, "bytes", "one COCO label file (local, blob or URL)")
IMAGE_BYTES = _limit("imageBytes", 20 * MIB, "bytes", "one image uploaded, predicted or fetched (the service's maximum)")
LOCK_RECORD_BYTES = _limit("lockRecordBytes", 64 * KIB, "bytes", "a local apply-lock record")
SPEC_FILES = _limit("specFiles", 10_000, "count", "spec files found under the `specs` folders")

# --- structure -----------------------------------------------------------------------------
YAML_DEPTH = _limit("yamlDepth", 64, "levels", "nesting of a spec or config document")
YAML_ALIASES = _limit("yamlAliases", 100, "count", "alias uses (`*name`) in one YAML document")
YAML_NODES = _limit("yamlNodes", 100_000, "count", "values in one YAML document, aliases expanded")
JSON_DEPTH = _limit("jsonDepth", 64, "levels", "nesting of stack outputs, plan files and emulator request bodies")
URI_CHARS = _limit("uriChars", 2048, "chars", "one label or image URI")
PATH_CHARS = _limit("pathChars", 4096, "chars", "one path written in a spec, config or COCO file")
PATH_COMPONENT_CHARS = _limit("pathComponentChars", 255, "chars", "one component of such a path")

# --- the emulator's HTTP surface ---------------------------------------------------------------
REQUEST_JSON_BYTES = _limit("requestJsonBytes", 1 * MIB, "bytes", "an emulator JSON request body (413 beyond)")
REQUEST_IMAGE_BYTES = _limit("requestImageBytes", 20 * MIB, "bytes", "an analyze image (emulator body: 400 InvalidImageSize beyond)")
CUSTOM_PROPERTY_CHARS = _limit("customPropertyChars", 1024, "chars", "one customProperties key or value")

LIMITS: Final[dict[str, Limit]] = {
    lim.name: lim
    for lim in (
        SPEC_FILE_BYTES, CONFIG_FILE_BYTES, STACK_OUTPUTS_BYTES, PLAN_FILE_BYTES, LABEL_FILE_BYTES, IMAGE_BYTES,
        LOCK_RECORD_BYTES, SPEC_FILES, YAML_DEPTH, YAML_ALIASES, YAML_NODES, JSON_DEPTH, URI_CHARS, PATH_CHARS,
        PATH_COMPONENT_CHARS, REQUEST_JSON_BYTES, REQUEST_IMAGE_BYTES, CUSTOM_PROPERTY_CHARS,
    )
}  # fmt: skip
