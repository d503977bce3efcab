"""Small helpers to describe decoded JSON values in problem details."""

from __future__ import annotations

import math
from typing import Any


def jtype(value: Any) -> str:
    """The JSON type name of a decoded value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show(value: Any, limit: int = 60) -> str:
    """A short rendering of a JSON value for an example's detail."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (dict, list)):
        text = f"{jtype(value)} of {len(value)}"
    elif isinstance(value, bool) or value is None:
        text = "true" if value is True else "false" if value is False else "null"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_number(value: Any) -> bool:
    """A finite JSON number (booleans excluded; integers of any size are finite)."""
    t = type(value)
    return t is int or (t is float and math.isfinite(value))
