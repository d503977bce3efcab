"""Persistence of the Azure ML emulator: one SQLite database (a file under ``--state DIR``, or memory).

The same pattern as the Vision emulator's store (msgspec JSON rows, one lock,
create-only :meth:`Store.insert` so two racing PUTs have one winner), with three
tables: resources, long-running operations and blobs of fitted models.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from reconcile.emulator.azureml.records import Operation, Resource
from reconcile.emulator.shared.sqlite import SqliteStore

DB_FILE = "azureml-emulator.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL,
    UNIQUE (kind, scope, name)
);
CREATE TABLE IF NOT EXISTS operations (id TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS artifacts (key TEXT PRIMARY KEY, data BLOB NOT NULL);
"""


class Store(SqliteStore):
    """Thread-safe; every method is atomic. Names are case-sensitive (as the service's)."""

    DB_FILE = DB_FILE
    SCHEMA = _SCHEMA

    def __init__(self, state_dir: Path | None = None) -> None:
        super().__init__(state_dir)
        self._enc = msgspec.json.Encoder()
        self._res = msgspec.json.Decoder(Resource)
        self._op = msgspec.json.Decoder(Operation)

    # --- resources ---------------------------------------------------------------------

    def insert(self, r: Resource) -> bool:
        """Store a new resource; False (nothing changed) when (kind, scope, name) exists."""
        with self.lock:
            cur = self._db.execute("INSERT OR IGNORE INTO resources (kind, scope, name, body) VALUES (?, ?, ?, ?)",
                                   (r.kind, r.scope, r.name, self._enc.encode(r)))
            return cur.rowcount == 1

    def update(self, r: Resource) -> None:
        with self.lock:
            self._db.execute("UPDATE resources SET body = ? WHERE kind = ? AND scope = ? AND name = ?",
                             (self._enc.encode(r), r.kind, r.scope, r.name))

    def get(self, kind: str, name: str, scope: str = "") -> Resource | None:
        with self.lock:
            row = self._db.execute("SELECT body FROM resources WHERE kind = ? AND scope = ? AND name = ?",
                                   (kind, scope, name)).fetchone()
        return None if row is None else self._res.decode(row[0])

    def delete(self, kind: str, name: str, scope: str = "") -> bool:
        with self.lock:
            return self._db.execute("DELETE FROM resources WHERE kind = ? AND scope = ? AND name = ?",
                                    (kind, scope, name)).rowcount == 1

    def all(self, kind: str, scope: str | None = "") -> list[Resource]:
        """Every resource of ``kind`` under ``scope`` (``None``: any scope), in creation order."""
        with self.lock:
            if scope is None:
                rows = self._db.execute("SELECT body FROM resources WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
            else:
                rows = self._db.execute("SELECT body FROM resources WHERE kind = ? AND scope = ? ORDER BY seq",
                                        (kind, scope)).fetchall()
        return [self._res.decode(r[0]) for r in rows]

    # --- operations, artifacts ---------------------------------------------------

    def put_operation(self, op: Operation) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO operations (id, body) VALUES (?, ?)", (op.id, self._enc.encode(op)))

    def get_operation(self, op_id: str) -> Operation | None:
        with self.lock:
            row = self._db.execute("SELECT body FROM operations WHERE id = ?", (op_id,)).fetchone()
        return None if row is None else self._op.decode(row[0])

    def put_artifact(self, key: str, data: bytes) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO artifacts (key, data) VALUES (?, ?)", (key, data))

    def get_artifact(self, key: str) -> bytes | None:
        with self.lock:
            row = self._db.execute("SELECT data FROM artifacts WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])
