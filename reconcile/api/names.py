"""Resource-name rules and list/size limits common to every api-version (docs/service-api.md §2, §3)."""

from __future__ import annotations

import re
from typing import Final

NAME_PATTERN: Final = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
MAX_NAME_LENGTH: Final = 255
MAX_ANNOTATION_FILE_URIS: Final = 10
MAX_CUSTOM_PROPERTIES: Final = 10
#: customProperties keys starting with this are vision-gitops' markers (ownership, label digest).
RESERVED_PROPERTY_PREFIX: Final = "vision-gitops."
#: How many of the service's customProperties the markers take (managed-by, labels-sha256).
MARKER_PROPERTIES: Final = 2
LIST_TOP_DEFAULT: Final = 10
LIST_TOP_MAX: Final = 30


def name_problem(name: object) -> str | None:
    """Return why ``name`` is not a valid resource name, or ``None`` when it is."""
    if not isinstance(name, str) or not name:
        return "a name must be a non-empty string"
    if len(name) > MAX_NAME_LENGTH:
        return f"a name is at most {MAX_NAME_LENGTH} characters (this one has {len(name)})"
    if not NAME_PATTERN.match(name):
        return (
            "a name starts with a letter or digit and contains only letters, digits, '.', '_' and '-' "
            f"(pattern {NAME_PATTERN.pattern})"
        )
    return None
