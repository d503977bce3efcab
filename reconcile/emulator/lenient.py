"""Lenient request JSON, as the service's Newtonsoft binding accepts it (docs/service-api.md §1).

Accepted beyond strict JSON: single-quoted strings, trailing commas, and property
names in any letter case (``AnnotationKind`` binds to ``annotationKind``).
:func:`parse` promises to either return a Python value or raise :class:`LenientJsonError`
with the offset of the first problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconcile.limits import JSON_DEPTH
from reconcile.safejson import depth_of


class LenientJsonError(ValueError):
    """The body is not JSON even by lenient rules."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


def parse(data: bytes | str) -> Any:
    """Parse ``data`` as strict JSON, or failing that with the lenient rules.

    A value nested deeper than ``jsonDepth`` (:mod:`reconcile.limits`) is refused
    with :class:`LenientJsonError`, by either parser.
    """
    text = data.decode("utf-8-sig", errors="strict") if isinstance(data, bytes) else data
    try:
        value = json.loads(text)
    except RecursionError:
        raise LenientJsonError(_TOO_DEEP, 0) from None
    except ValueError:
        parser = _Parser(text)
        value = parser.value()
        parser.ws()
        if parser.i != len(text):
            raise LenientJsonError("unexpected data after the JSON value", parser.i) from None
    if depth_of(value, JSON_DEPTH.value) > JSON_DEPTH.value:
        raise LenientJsonError(_TOO_DEEP, 0)
    return value


_TOO_DEEP = f"the value is nested deeper than {JSON_DEPTH.value} levels"


_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _Parser:
    __slots__ = ("s", "i", "depth")

    def __init__(self, s: str) -> None:
        self.s = s
        self.i = 0
        self.depth = 0

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > JSON_DEPTH.value:
            raise LenientJsonError(_TOO_DEEP, self.i)

    def ws(self) -> None:
        s, n = self.s, len(self.s)
        while self.i < n and s[self.i] in " \t\r\n":
            self.i += 1

    def value(self) -> Any:
        self.ws()
        if self.i >= len(self.s):
            raise LenientJsonError("unexpected end of input", self.i)
        c = self.s[self.i]
        if c in "{[":
            self._enter()
            value = self.obj() if c == "{" else self.arr()
            self.depth -= 1
            return value
        if c in "\"'":
            return self.string()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return val
        return self.number()

    def obj(self) -> dict[str, Any]:
        self.i += 1
        out: dict[str, Any] = {}
        while True:
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == "}":
                self.i += 1
                return out
            if self.i >= len(self.s) or self.s[self.i] not in "\"'":
                raise LenientJsonError("expected a property name in quotes", self.i)
            key = self.string()
            self.ws()
            if self.i >= len(self.s) or self.s[self.i] != ":":
                raise LenientJsonError("expected ':'", self.i)
            self.i += 1
            out[key] = self.value()
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1
                continue
            if self.i < len(self.s) and self.s[self.i] == "}":
                self.i += 1
                return out
            raise LenientJsonError("expected ',' or '}'", self.i)

    def arr(self) -> list[Any]:
        self.i += 1
        out: list[Any] = []
        while True:
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == "]":
                self.i += 1
                return out
            out.append(self.value())
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1
                continue
            if self.i < len(self.s) and self.s[self.i] == "]":
                self.i += 1
                return out
            raise LenientJsonError("expected ',' or ']'", self.i)

    def string(self) -> str:
        quote = self.s[self.i]
        self.i += 1
        parts: list[str] = []
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c == quote:
                self.i += 1
                return "".join(parts)
            if c == "\\":
                if self.i + 1 >= n:
                    break
                e = s[self.i + 1]
                if e == "u":
                    hexdigits = s[self.i + 2 : self.i + 6]
                    try:
                        parts.append(chr(int(hexdigits, 16)))
                    except ValueError:
                        raise LenientJsonError("bad \\u escape", self.i) from None
                    self.i += 6
                    continue
                if e not in _ESCAPES:
                    raise LenientJsonError("bad escape", self.i)
                parts.append(_ESCAPES[e])
                self.i += 2
                continue
            parts.append(c)
            self.i += 1
        raise LenientJsonError("unterminated string", self.i)

    def number(self) -> int | float:
        start = self.i
        s, n = self.s, len(self.s)
        while self.i < n and s[self.i] in "+-0123456789.eE":
            self.i += 1
        token = s[start : self.i]
        if not token:
            raise LenientJsonError("unexpected character", start)
        try:
            return int(token) if token.lstrip("-").isdigit() else float(token)
        except ValueError:
            raise LenientJsonError(f"bad number {token!r}", start) from None


#: Shape of the request bodies: canonical property name -> nested shape (None = leaf,
#: "free" = a map whose keys are user data and keep their spelling).
Shape = Mapping[str, Any]

DATASET_SHAPE: Shape = {
    "annotationKind": None,
    "annotationFileUris": None,
    "customProperties": "free",
    "authentication": {"kind": None, "sasToken": None},
    "annotationData": "free",
    "name": None,
    "createdDateTime": None,
    "updatedDateTime": None,
    "eTag": None,
}
MODEL_SHAPE: Shape = {
    "trainingParameters": {"trainingDatasetName": None, "timeBudgetInHours": None, "modelKind": None},
    "evaluationParameters": {"testDatasetName": None},
    "name": None,
    "createdDateTime": None,
    "updatedDateTime": None,
    "status": None,
    "trainingCostInMinutes": None,
    "error": "free",
    "modelPerformance": "free",
}
EVALUATION_SHAPE: Shape = {
    "evaluationParameters": {"testDatasetName": None},
    "name": None,
    "modelName": None,
    "createdDateTime": None,
    "updatedDateTime": None,
    "status": None,
    "error": "free",
    "modelPerformance": "free",
}
IMAGE_URL_SHAPE: Shape = {"url": None}


def canonicalize(value: Any, shape: Shape) -> Any:
    """Rename the known properties of ``value`` to their camelCase spelling, recursively.

    Unknown properties are kept as sent (callers ignore them, as the service does).
    When two spellings of one property are sent, the last one wins.
    """
    if not isinstance(value, dict):
        return value
    lookup = {k.lower(): k for k in shape}
    out: dict[str, Any] = {}
    for key, item in value.items():
        canon = lookup.get(key.lower(), key) if isinstance(key, str) else key
        sub = shape.get(canon, None) if canon in shape else None
        out[canon] = canonicalize(item, sub) if isinstance(sub, Mapping) else item
    return out
