"""The request log: one :class:`RequestRecord` per API request, for tests and benchmarks to count calls.

``status`` is 0 when the emulator dropped the connection instead of answering.
Secrets never enter the log: the query string is stored without ``subscription-key``
style parameters, and headers are not stored at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

DROPPED = 0

_SECRET_PARAMS = {"subscription-key", "sig", "code", "api-key"}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    started: float
    """Real unix time the request arrived."""
    duration: float
    """Seconds until the answer was sent (or the connection dropped)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() not in _SECRET_PARAMS]
    return urlencode(pairs)


class RequestLog:
    """A thread-safe, list-like log (bounded to the last ``maxlen`` records)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._items: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._maxlen = maxlen

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._items.append(record)
            if len(self._items) > self._maxlen:
                del self._items[: len(self._items) - self._maxlen]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._items)

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        """How many records match; ``path`` matches as a prefix."""
        return sum(
            1
            for r in self.snapshot()
            if (method is None or r.method == method)
            and (path is None or r.path.startswith(path))
            and (status is None or r.status == status)
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._items[index]
