"""Accumulates problems while a pass runs: counts every occurrence, keeps the first examples."""

from __future__ import annotations

from reconcile.client.redact import redact_input
from reconcile.coco.report import Example, Problem
from reconcile.coco.rules import ORDER, RULES


class Collector:
    """Counts occurrences per code and keeps at most ``max_examples`` examples of each."""

    __slots__ = ("max_examples", "_counts", "_examples", "_messages")

    def __init__(self, max_examples: int) -> None:
        self.max_examples = max(0, max_examples)
        self._counts: dict[str, int] = {}
        self._examples: dict[str, list[Example]] = {}
        self._messages: dict[str, str] = {}

    def add(self, code: str, path: str, detail: str) -> None:
        n = self._counts.get(code, 0)
        self._counts[code] = n + 1
        if n < self.max_examples:
            self._examples.setdefault(code, []).append(Example(redact_input(path), redact_input(detail)))

    def hit(self, code: str) -> bool:
        """Count one occurrence; True when its example should be kept (then call :meth:`example`).

        Lets hot loops skip formatting details that would be thrown away.
        """
        n = self._counts.get(code, 0)
        self._counts[code] = n + 1
        return n < self.max_examples

    def example(self, code: str, path: str, detail: str) -> None:
        # Details quote the file (names, URLs): mask what looks like a secret before anyone prints it.
        self._examples.setdefault(code, []).append(Example(redact_input(path), redact_input(detail)))

    def add_many(self, code: str, count: int, examples: list[tuple[str, str]]) -> None:
        """Record ``count`` occurrences at once (examples already in file order)."""
        if count <= 0:
            return
        n = self._counts.get(code, 0)
        self._counts[code] = n + count
        room = self.max_examples - min(n, self.max_examples)
        if room > 0:
            self._examples.setdefault(code, []).extend(
                Example(redact_input(p), redact_input(d)) for p, d in examples[:room])

    def message(self, code: str, text: str) -> None:
        """Replace the catalogue message of ``code`` with one naming the limits that applied."""
        self._messages[code] = text

    def count(self, code: str) -> int:
        return self._counts.get(code, 0)

    def has(self, code: str) -> bool:
        return code in self._counts

    @property
    def has_errors(self) -> bool:
        return any(RULES[c].severity == "error" for c in self._counts)

    def problems(self) -> tuple[Problem, ...]:
        out = []
        for code in sorted(self._counts, key=ORDER.__getitem__):
            rule = RULES[code]
            out.append(
                Problem(
                    code=code,
                    severity=rule.severity,
                    message=self._messages.get(code, rule.message),
                    count=self._counts[code],
                    examples=tuple(self._examples.get(code, ())),
                )
            )
        return tuple(out)
