"""Validate an Azure-flavoured COCO label file: the one entry point everyone uses.

``reconcile validate``, ``reconcile coco validate``, plan/apply (before anything is
uploaded) and the emulator all call :func:`validate_bytes` / :func:`validate_file`.

Strategy (docs/coco.md, "How it is fast"): a fast path decodes into typed msgspec
Structs and checks columns; if it finds anything wrong, the exact pass
(:mod:`reconcile.coco.exact`) re-reads the file as plain JSON and reports every
problem with counts and JSON paths. Both run with the garbage collector paused:
the decoded file is millions of containers and full collections would dominate.
"""

from __future__ import annotations

import gc
import os
import re
from contextlib import contextmanager
from typing import Any, Iterator

import msgspec

from reconcile import bounded
from reconcile.coco import fast
from reconcile.coco.collect import Collector
from reconcile.coco.exact import validate_document
from reconcile.coco.options import ValidationOptions
from reconcile.coco.report import CocoReport
from reconcile.coco.schema import LooseCoco
from reconcile.errors import InputError
from reconcile.limits import LABEL_FILE_BYTES

__all__ = ["ValidationOptions", "validate_bytes", "validate_file", "validate_exact"]

_LOOSE_DECODER = msgspec.json.Decoder(LooseCoco)
_BYTE_POS = re.compile(r"\(byte (\d+)\)")
_HUGE_NUMBER = re.compile(rb"-?\d+(?:\.\d*)?[eE]\+?\d{3,}|-?\d{309,}(?:\.\d*)?")
_JSON_PATH = re.compile(r" - at `(\$[^`]*)`")


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _line_col(data: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    raw = bytes(data[: pos + 1]) if not isinstance(data, bytes) else data[: pos + 1]
    line = raw.count(b"\n") + 1
    col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def _json_error(data: bytes | bytearray | memoryview, exc: BaseException, c: Collector) -> None:
    """Record why ``data`` is not JSON, with line and column when the parser says where."""
    if isinstance(exc, UnicodeDecodeError):
        line, col = _line_col(data, exc.start)
        c.add("E_JSON", "$", f"line {line} column {col}: not UTF-8 ({exc.reason})")
        return
    if isinstance(exc, RecursionError):
        c.add("E_JSON", "$", "nested too deeply")
        return
    text = str(exc)
    m = _BYTE_POS.search(text)
    if m:
        line, col = _line_col(data, int(m.group(1)))
        text = _BYTE_POS.sub("", text).strip()
        c.add("E_JSON", "$", f"line {line} column {col}: {text}")
        return
    if text.startswith("Number out of range"):
        # msgspec's path shows object keys as [...]; find the number itself instead.
        for num in _HUGE_NUMBER.finditer(data):
            if float(num.group()) in (float("inf"), float("-inf")):
                line, col = _line_col(data, num.start())
                c.add("E_JSON", "$", f"line {line} column {col}: number {num.group()[:40].decode()} is beyond float range")
                return
    m = _JSON_PATH.search(text)
    if m:
        c.add("E_JSON", m.group(1).removeprefix("$").lstrip(".") or "$", _JSON_PATH.sub("", text))
        return
    c.add("E_JSON", "$", text or type(exc).__name__)


_BOM = b"\xef\xbb\xbf"
_BLANK = re.compile(rb"\s*\Z")


def _strip_bom(data: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
    # Windows tools write a UTF-8 BOM; the service (.NET) reads it fine, so we do too.
    if bytes(data[:3]) == _BOM:
        return memoryview(data)[3:]
    return data


def validate_exact(
    data: bytes | bytearray | memoryview,
    options: ValidationOptions,
    source: str | None = None,
    *,
    trusted: dict[str, int] | None = None,
) -> CocoReport:
    """Validate with the exact pass only (the reference the fast path is tested against). Never raises on data.

    ``trusted`` (section -> count) marks leading records already known to pass
    every per-field rule, so their field checks are skipped.
    """
    c = Collector(options.max_examples)
    data = _strip_bom(data)
    if _BLANK.match(data):
        c.add("E_JSON", "$", "the file is empty")
        return CocoReport(valid=False, problems=c.problems(), summary=None, source=source)
    with _gc_paused():
        try:
            # The usual shape (an object of arrays of objects) decodes into loose
            # Structs: cheaper to build and to free than dicts. Anything else is
            # decoded as plain JSON so the report can describe it.
            doc: Any = _LOOSE_DECODER.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
            try:
                doc = msgspec.json.decode(data)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
                _json_error(data, exc, c)
                return CocoReport(valid=False, problems=c.problems(), summary=None, source=source)
        summary = validate_document(doc, options, c, trusted=trusted)
        del doc
    return CocoReport(valid=not c.has_errors, problems=c.problems(), summary=summary, source=source)


def validate_bytes(data: bytes | bytearray | memoryview, options: ValidationOptions, source: str | None = None) -> CocoReport:
    """Validate the bytes of one COCO file against ``options``.

    Never raises for bad data: empty, truncated, non-UTF-8, non-JSON or mistyped
    input gives a report whose problems say what and where. ``source`` (a file
    name or URI) is only carried into the report for messages.
    """
    data = _strip_bom(data)
    with _gc_paused():
        outcome = fast.validate_fast(data, options, source)
        if isinstance(outcome, CocoReport):
            return outcome
        if outcome.typed is not None:
            # Decoding succeeded; a column check failed. Report from the Structs: no second parse.
            c = Collector(options.max_examples)
            summary = validate_document(outcome.typed, options, c)
            return CocoReport(valid=not c.has_errors, problems=c.problems(), summary=summary, source=source)
    return validate_exact(data, options, source, trusted=outcome.trusted)


def validate_file(path: str | os.PathLike[str], options: ValidationOptions) -> CocoReport:
    """Validate the COCO file at ``path``.

    An unreadable file, one that is not a regular file or one over ``labelFileBytes``
    (read no further than that) gives a report with ``E_FILE_READ``, not an exception.
    """
    name = os.fspath(path)
    try:
        data = bounded.read_file(name, LABEL_FILE_BYTES, name)
    except InputError as exc:
        c = Collector(options.max_examples)
        c.add("E_FILE_READ", "$", exc.message)
        return CocoReport(valid=False, problems=c.problems(), summary=None, source=name)
    return validate_bytes(data, options, source=name)
