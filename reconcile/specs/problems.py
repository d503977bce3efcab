"""Collecting input problems and turning pydantic errors into messages for humans.

Every problem reads ``path/to/file.yaml:LINE: field.path: message``, where the
message says what is wrong and what to do. Loaders collect all problems of a run
in one :class:`Problems` and raise once, so a user fixes everything in one pass.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from reconcile.client.redact import redact_input
from reconcile.errors import Location


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem in one file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = Location(self.file, self.line if self.line > 0 else None, self.field or None)
        return f"{where}: {self.message}"


class Problems:
    """An ordered, de-duplicated list of problems."""

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self._seen: set[Problem] = set()

    def add(self, file: str, line: int | None, field: str | None, message: str) -> None:
        """Record one problem. Field and message often quote input, so secrets in them are masked."""
        p = Problem(redact_input(file), line or 0, redact_input(field or ""), redact_input(message))
        if p not in self._seen:
            self._seen.add(p)
            self._items.append(p)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def messages(self) -> list[str]:
        """The problems as strings, sorted by file and line."""
        return [str(p) for p in sorted(self._items, key=lambda p: (p.file, p.line, p.field, p.message))]


def field_path(loc: Sequence[Any]) -> str:
    """``("labels", 0, "file")`` -> ``labels[0].file``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word closest to ``word``, if any is close enough to be a likely typo."""
    known = list(known)
    camel = to_camel(word) if "_" in word else word
    for k in known:
        if k.lower() == camel.lower():
            return k
    hits = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return hits[0] if hits else None


def known_names_text(known: Iterable[str], limit: int = 12) -> str:
    names = sorted(known)
    if not names:
        return "none are defined"
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return f"known: {shown}"


def report_validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    file: str,
    line_of: typing.Callable[[tuple[Any, ...]], int],
    problems: Problems,
    prefix: tuple[Any, ...] = (),
) -> None:
    """Add one problem per pydantic error, located by ``line_of(loc)``."""
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        full = prefix + loc
        problems.add(file, line_of(full), field_path(full), _message(err, model, loc))


def _message(err: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    msg: str = err["msg"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        owner = model_at(model, loc[:-1])
        known = sorted(_aliases(owner)) if owner is not None else []
        text = f"unknown field '{name}'"
        guess = closest(name, known)
        if guess is not None:
            text += f"; did you mean '{guess}'?"
        elif known:
            text += f"; remove it (allowed here: {', '.join(known)})"
        return text
    if kind == "missing":
        return "required field is missing; add it"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "literal_error":
        return f"{err.get('input')!r} is not allowed; {msg[0].lower()}{msg[1:]}"
    if kind == "string_type":
        return f"{msg}; put the value in quotes if it is meant as text"
    if kind in ("too_long", "too_short"):
        return msg
    return msg


def _aliases(model: type[BaseModel]) -> set[str]:
    return {f.alias or n for n, f in model.model_fields.items()}


def model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` inside ``model`` (None if not a model)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
            if info is None:
                return None
            current = info.annotation
            continue
        origin = typing.get_origin(current)
        if origin is dict:
            current = typing.get_args(current)[1]
        elif origin in (list, tuple):
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the one non-None member."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
