"""The inventory writer apply uses: load once, then every change is saved at once.

Saving immediately is the point: an intent must be durable before the request it
announces is sent, so that a crash (SIGKILL, a cancelled CI job) between the
service accepting a training run and apply recording it never leaves a paid run
that nobody owns.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from reconcile.inventory.records import Inventory, ResourceRecord
from reconcile.inventory.store import StateStore


class Journal:
    """Thread-safe read-modify-write of one environment's inventory."""

    def __init__(self, store: StateStore, inventory: Inventory | None = None) -> None:
        self.store = store
        self._inv = inventory if inventory is not None else store.load()
        self._lock = threading.Lock()

    @property
    def inventory(self) -> Inventory:
        with self._lock:
            return self._inv

    def update(self, change: Callable[[dict[str, ResourceRecord]], None]) -> Inventory:
        """Apply ``change`` to a copy of the records and save it. Raises what the store raises
        (nothing is changed in memory then)."""
        with self._lock:
            records = dict(self._inv.records)
            change(records)
            if records == self._inv.records:
                return self._inv
            self._inv = self.store.save(self._inv.with_records(records))
            return self._inv

    def put(self, records: Iterable[ResourceRecord]) -> Inventory:
        items = list(records)

        def change(r: dict[str, ResourceRecord]) -> None:
            for rec in items:
                r[rec.address] = rec

        return self.update(change)

    def forget(self, addresses: Iterable[str]) -> Inventory:
        gone = set(addresses)

        def change(r: dict[str, ResourceRecord]) -> None:
            for a in gone:
                r.pop(a, None)

        return self.update(change)
