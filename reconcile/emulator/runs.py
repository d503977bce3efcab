"""Work that runs off the request path: one worker thread fits models and runs evaluations.

:class:`RunQueue` runs submitted jobs one at a time in submission order (fits are
CPU-heavy; one at a time keeps memory bounded and results reproducible). A job is
identified by a key; submitting a key that is queued or running does nothing, so a
run can be submitted on every read without being fitted twice. A job that raises is
logged and dropped: jobs record their own failures in the store.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class RunQueue:
    def __init__(self, name: str = "emulator-runs") -> None:
        self._name = name
        self._jobs: queue.Queue[tuple[Hashable, Callable[[], None]] | None] = queue.Queue()
        self._pending: set[Hashable] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, key: Hashable, job: Callable[[], None]) -> bool:
        """Queue ``job`` unless ``key`` is already queued or running; True if queued."""
        with self._lock:
            if self._closed or key in self._pending:
                return False
            self._pending.add(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()
        self._jobs.put((key, job))
        return True

    def pending(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._pending

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running; False if ``timeout`` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout=timeout)

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    def close(self) -> None:
        """Stop taking jobs and drop the queued ones. A running job is not waited for: it should
        check :attr:`closed` before it records anything (its work is redone at the next start)."""
        with self._lock:
            self._closed = True
        self._jobs.put(None)

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            key, job = item
            with self._lock:
                closed = self._closed
            try:
                if not closed:
                    job()
            except Exception:  # noqa: BLE001 - a job records its own failure; never kill the worker
                log.exception("emulator run %r failed unexpectedly", key)
            finally:
                with self._idle:
                    self._pending.discard(key)
                    self._idle.notify_all()
