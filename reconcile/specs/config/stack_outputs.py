"""The ``pulumi stack output --json`` file an environment may take its endpoint and storage from.

The keys are the contract with ``infra/outputs.py`` (:data:`STACK_OUTPUT_KEYS`);
problems name the file, the line and the command that regenerates it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from reconcile import bounded, safejson, safepath
from reconcile.errors import InputError, JsonSyntaxError
from reconcile.limits import STACK_OUTPUTS_BYTES
from reconcile.specs.problems import Problems

__all__ = ["STACK_OUTPUT_KEYS", "VisionStackOutputs", "read_stack_outputs"]

#: Keys of ``pulumi stack output --json`` (the contract with ``infra/outputs.py``).
STACK_OUTPUT_KEYS = (
    "visionEndpoint",
    "visionAccountName",
    "visionSubdomain",
    "visionPrincipalId",
    "resourceGroupName",
    "location",
    "storageAccountName",
    "blobEndpoint",
    "containerName",
    "containerUrl",
    "ciPrincipalId",
)


class VisionStackOutputs(BaseModel):
    """The Vision stack's ``pulumi stack output --json`` object (every key required, every value a non-empty string).

    The reader's side of ``infra.outputs.StackOutputs`` (the writer's side, in the Pulumi program).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    vision_endpoint: str = Field(min_length=1)
    vision_account_name: str = Field(min_length=1)
    vision_subdomain: str = Field(min_length=1)
    vision_principal_id: str = Field(min_length=1)
    resource_group_name: str = Field(min_length=1)
    location: str = Field(min_length=1)
    storage_account_name: str = Field(min_length=1)
    blob_endpoint: str = Field(min_length=1)
    container_name: str = Field(min_length=1)
    container_url: str = Field(min_length=1)
    ci_principal_id: str = Field(min_length=1)


def read_stack_outputs(
    file: Path, root: Path, problems: Problems, *, referrer: tuple[str, int, str] | None = None
) -> VisionStackOutputs | None:
    """Parse a ``pulumi stack output --json`` file; on failure add to ``problems`` and return None.

    A missing or outside-the-repository file is reported at ``referrer`` (file, line,
    field of the config naming it) when given; problems inside the file at the file.
    """
    try:
        display = file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        display = str(file)
    regenerate = f"with the environment's stack selected, run `pulumi -C infra stack output --json > {display}`"
    if safepath.within(file, [root]) is None:
        where, line, field = referrer if referrer else (display, 0, "")
        problems.add(where, line, field, f"stack outputs file {display} is outside the repository (symlinks are "
                     "followed); keep it inside")
        return None
    if not file.is_file():
        where, line, field = referrer if referrer else (display, 0, "")
        problems.add(where, line, field, f"stack outputs file {display} not found; {regenerate}")
        return None
    try:
        raw = bounded.read_file(file, STACK_OUTPUTS_BYTES, display)
        text = raw.decode("utf-8")
        data = safejson.loads(raw, limit=STACK_OUTPUTS_BYTES, shown=display)
    except UnicodeDecodeError as exc:
        problems.add(display, 0, None, f"not UTF-8 text ({exc.reason}); {regenerate}")
        return None
    except JsonSyntaxError as exc:
        problems.add(display, exc.line, None, f"{exc.message}; {regenerate}")
        return None
    except InputError as exc:
        problems.add(display, 0, None, f"{exc.message}; {regenerate}")
        return None
    if not isinstance(data, dict):
        problems.add(display, 1, None, f"stack outputs must be a JSON object; {regenerate}")
        return None
    try:
        return VisionStackOutputs.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            key = str(err["loc"][0]) if err["loc"] else ""
            line = _json_key_line(text, key)
            if err["type"] == "missing":
                message = f"the stack does not export '{key}'; update the Pulumi program (infra/outputs.py) and {regenerate}"
            elif err["type"] == "extra_forbidden":
                message = f"unexpected key '{key}' (expected exactly: {', '.join(STACK_OUTPUT_KEYS)}); {regenerate}"
            else:
                message = f"{err['msg']}; {regenerate}"
            problems.add(display, line, key, message)
        return None


def _json_key_line(text: str, key: str) -> int:
    needle = f'"{key}"'
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    return 1
