"""YAML reading that remembers where every value came from.

PyYAML's ``safe_load`` forgets line numbers, so a validation error could only say
*what* is wrong, not *where*. Here each document is composed into nodes, converted
to plain Python data, and a parallel :class:`Lines` tree records the 1-based line
of every mapping key and sequence item. Problems (syntax errors, duplicate keys,
merge keys, a top level that is not a mapping) are collected, never raised, so one
run reports everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconcile import bounded
from reconcile.errors import InputError
from reconcile.limits import SPEC_FILE_BYTES, YAML_ALIASES, YAML_DEPTH, YAML_NODES, Limit
from reconcile.specs.problems import Problems

# libyaml is ~10x faster; both keep node start marks.
_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MAX_DEPTH = YAML_DEPTH.value


class _TooBig(Exception):
    """A document expands to more than ``YAML_NODES`` values (an alias bomb)."""

    def __init__(self, line: int) -> None:
        self.line = line


class _Budget:
    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes = 0


@dataclass(frozen=True, slots=True)
class Lines:
    """Line of one value and of its children (keys of a mapping, indices of a sequence)."""

    line: int
    children: dict[Any, "Lines"] = field(default_factory=dict)

    def line_of(self, loc: tuple[Any, ...]) -> int:
        """The line of the deepest part of ``loc`` that exists in the document.

        A missing field therefore points at the mapping that lacks it.
        """
        node = self
        for part in loc:
            child = node.children.get(part)
            if child is None:
                break
            node = child
        return node.line


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document: its data, where it starts and the line tree of its values."""

    file: Path
    display: str
    """The file as shown in messages (relative to the repo root when possible)."""
    index: int
    """0-based position of the document in its file."""
    data: dict[str, Any]
    lines: Lines

    @property
    def line(self) -> int:
        return self.lines.line


def read_documents(
    file: Path, display: str, problems: Problems, *, what: str = "spec", limit: Limit = SPEC_FILE_BYTES
) -> list[Document]:
    """Read every non-empty document of ``file``.

    Problems go to ``problems``; a document with a structural problem (not a
    mapping) is skipped, one with duplicate keys is still returned (the last value
    wins) so that its other problems are reported too. A file with no document at
    all is a problem. Bounded: a file over ``limit`` bytes is not read, and a file
    nested deeper than ``yamlDepth``, with more than ``yamlAliases`` alias uses or
    expanding to more than ``yamlNodes`` values is refused as a whole
    (:mod:`reconcile.limits`).
    """
    try:
        text = bounded.read_file(file, limit, display).decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(display, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8")
        return []
    except InputError as exc:
        problems.add(display, None, None, f"{exc.message}; check the path and permissions")
        return []
    if (shape := _shape_problem(text)) is not None:
        problems.add(display, shape[0], None, shape[1])
        return []

    docs: list[Document] = []
    constructor = yaml.SafeLoader("")
    seen_any = False
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Composer)):
            if node is None or _is_null(node):
                continue
            seen_any = True
            line = node.start_mark.line + 1
            if not isinstance(node, yaml.MappingNode):
                problems.add(
                    display,
                    line,
                    None,
                    f"a {what} document must be a mapping of fields (key: value), not a {_node_kind(node)}; "
                    "check the indentation of this document",
                )
                continue
            try:
                data, lines = _convert(node, constructor, problems, display, 0, _Budget())
            except _TooBig as big:
                problems.add(display, big.line, None, f"the document expands to more than the {YAML_NODES.name} "
                             f"limit of {YAML_NODES.shown} values (aliases expanded); write it out plainly")
                continue
            docs.append(Document(file=file, display=display, index=index, data=data, lines=lines))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(p for p in (exc.context, exc.problem) if p)
        problems.add(display, line, None, f"YAML syntax error: {detail}; check indentation, quoting and colons near this line")
        return docs
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        problems.add(display, line, None, f"the file contains the control character {char!r} (U+{ord(char):04X}); remove it")
        return docs
    except yaml.YAMLError as exc:
        problems.add(display, None, None, f"YAML error: {exc}")
        return docs
    if not seen_any:
        problems.add(display, 1, None, f"the file is empty (no {what} in it); add a {what} or delete the file")
    return docs


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return "single value"


def _shape_problem(text: str) -> tuple[int | None, str] | None:
    """(line, message) when the event stream nests too deeply or uses too many aliases; checked before
    composing, so neither the composer nor the conversion ever sees such a document."""
    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=_Composer):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > YAML_DEPTH.value:
                    return (event.start_mark.line + 1, f"nesting deeper than the {YAML_DEPTH.name} limit of "
                            f"{YAML_DEPTH.shown}; flatten it")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > YAML_ALIASES.value:
                    return (event.start_mark.line + 1, f"more than the {YAML_ALIASES.name} limit of "
                            f"{YAML_ALIASES.shown} alias uses (*name) in one document; write the values out")
            elif isinstance(event, yaml.DocumentStartEvent):
                aliases = 0
    except yaml.YAMLError:
        return None  # the composer reports syntax errors with their line
    return None


def _convert(
    node: yaml.Node, constructor: yaml.SafeLoader, problems: Problems, display: str, depth: int, budget: _Budget
) -> tuple[Any, Lines]:
    line = node.start_mark.line + 1
    budget.nodes += 1
    if budget.nodes > YAML_NODES.value:
        raise _TooBig(line)
    if depth > _MAX_DEPTH:
        problems.add(display, line, None, f"nesting deeper than {_MAX_DEPTH} levels (a recursive alias?); flatten it")
        return None, Lines(line)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        children: dict[Any, Lines] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                problems.add(display, key_line, None, "merge keys ('<<') are not supported; write the fields out so reviewers see them")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                problems.add(display, key_line, None, "a key must be a plain word, not a list or mapping")
                continue
            try:
                key = constructor.construct_object(key_node)
            except Exception:  # noqa: BLE001 - a tagged key the constructor rejects is not text either
                key = None
            if not isinstance(key, str):
                # YAML reads `1:`, `yes:` or `null:` as a number, boolean or null; fields are text.
                problems.add(display, key_line, None, f"the key {key_node.value!r} is not text; quote it (\"{key_node.value}\":) or rename it")
                continue
            if key in children:
                problems.add(
                    display,
                    key_line,
                    str(key),
                    f"duplicate key (first at line {children[key].line}); keep only one",
                )
            value, value_lines = _convert(value_node, constructor, problems, display, depth + 1, budget)
            out[key] = value
            children[key] = Lines(key_line, value_lines.children)
        return out, Lines(line, children)
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        item_lines: dict[Any, Lines] = {}
        for i, item in enumerate(node.value):
            value, value_lines = _convert(item, constructor, problems, display, depth + 1, budget)
            items.append(value)
            item_lines[i] = value_lines
        return items, Lines(line, item_lines)
    if node.tag == _TIMESTAMP_TAG:
        # Nothing in specs or config is a date; keep 2024-01-01 as the text the user wrote.
        return node.value, Lines(line)
    try:
        return constructor.construct_object(node), Lines(line)
    except yaml.constructor.ConstructorError as exc:
        problems.add(display, line, None, f"cannot read this value ({exc.problem}); quote it if it is text")
        return None, Lines(line)
    except Exception:  # noqa: BLE001 - PyYAML's constructors raise ValueError, KeyError, binascii.Error...
        # e.g. `!!float x`, `!!int x` or `!!bool "?"`: the tag promises a type the text is not.
        problems.add(display, line, None, f"the value does not match its tag {node.tag.rsplit(':', 1)[-1]!r}; "
                     "remove the tag or fix the value")
        return None, Lines(line)
