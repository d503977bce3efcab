"""Parsing JSON documents from untrusted sources within a size and a depth limit.

Stack outputs, saved plans and the emulator's request bodies go through
:func:`loads`; COCO files have their own decoder (msgspec, typed) and are capped
by :data:`~reconcile.limits.LABEL_FILE_BYTES` before decoding. A document over
its size limit is refused before parsing; one nested deeper than ``jsonDepth``
is refused whether the parser gave up (RecursionError) or not.
"""

from __future__ import annotations

import json
from typing import Any

from reconcile.bounded import too_large
from reconcile.errors import JsonSyntaxError, LimitExceededError
from reconcile.limits import JSON_DEPTH, Limit


def depth_of(value: Any, most: int) -> int:
    """Nesting depth of ``value`` (a scalar is 0), counted without recursion; stops once past ``most``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        d += 1
        deepest = max(deepest, d)
        if deepest > most:
            return deepest
        stack.extend((c, d) for c in children if isinstance(c, (dict, list)))
    return deepest


def too_deep(shown: str, depth: Limit = JSON_DEPTH) -> LimitExceededError:
    return LimitExceededError(f"{shown} is nested deeper than the {depth.name} limit of {depth.shown}",
                              hint="see docs/limits.md; flatten the document")


def check_depth(value: Any, shown: str, depth: Limit = JSON_DEPTH) -> Any:
    """``value`` if it nests at most ``depth`` levels; else :class:`LimitExceededError`."""
    if depth_of(value, depth.value) > depth.value:
        raise too_deep(shown, depth)
    return value


def loads(data: bytes | str, *, limit: Limit, shown: str, depth: Limit = JSON_DEPTH) -> Any:
    """The JSON value in ``data``.

    Raises :class:`LimitExceededError` (naming the limit) for a document over
    ``limit`` bytes or ``depth`` levels, and :class:`JsonSyntaxError` (with the line
    and column; its message does not repeat ``shown``) for text that is not JSON.
    """
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > limit.value:
        raise too_large(shown, limit, size)
    try:
        value = json.loads(data)
    except RecursionError:
        raise too_deep(shown, depth) from None
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(f"not valid JSON ({exc.msg})", line=exc.lineno, column=exc.colno) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise JsonSyntaxError(f"not valid JSON ({type(exc).__name__})", line=1, column=1) from None
    return check_depth(value, shown, depth)
