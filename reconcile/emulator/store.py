"""Persistence: one SQLite database (a file under ``--state DIR``, or in memory).

Records are stored as msgspec JSON. Every method is atomic and thread-safe;
:meth:`Store.insert` is the create-only primitive (it never overwrites), which is
what makes two simultaneous PUTs of one name give exactly one winner.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import msgspec

from reconcile.emulator.records import DatasetRecord, EvaluationRecord, ModelRecord
from reconcile.emulator.shared.sqlite import SqliteStore

R = TypeVar("R", DatasetRecord, ModelRecord, EvaluationRecord)

_TYPES: dict[str, type] = {"dataset": DatasetRecord, "model": ModelRecord, "evaluation": EvaluationRecord}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (kind, parent, name)
);
"""
DB_FILE = "emulator.sqlite3"


def _kind(record: object) -> str:
    for kind, cls in _TYPES.items():
        if isinstance(record, cls):
            return kind
    raise TypeError(f"not a stored record: {type(record).__name__}")


def _parent(record: object) -> str:
    return record.model_name if isinstance(record, EvaluationRecord) else ""


class Store(SqliteStore):
    """Datasets, models and evaluations keyed by (kind, parent model, name)."""

    DB_FILE = DB_FILE
    SCHEMA = _SCHEMA

    def __init__(self, state_dir: Path | None = None) -> None:
        super().__init__(state_dir)
        self._decoders = {k: msgspec.json.Decoder(t) for k, t in _TYPES.items()}
        self._encoder = msgspec.json.Encoder()

    def insert(self, record: DatasetRecord | ModelRecord | EvaluationRecord) -> bool:
        """Store a new record; return False (and change nothing) if the name exists."""
        with self.lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO resources (kind, parent, name, body) VALUES (?, ?, ?, ?)",
                (_kind(record), _parent(record), record.name, self._encoder.encode(record)),
            )
            return cur.rowcount == 1

    def update(self, record: DatasetRecord | ModelRecord | EvaluationRecord) -> None:
        """Replace an existing record (same kind, parent and name)."""
        with self.lock:
            self._db.execute(
                "UPDATE resources SET body = ? WHERE kind = ? AND parent = ? AND name = ?",
                (self._encoder.encode(record), _kind(record), _parent(record), record.name),
            )

    def get(self, cls: type[R], name: str, parent: str = "") -> R | None:
        kind = _kind_of_class(cls)
        with self.lock:
            row = self._db.execute(
                "SELECT body FROM resources WHERE kind = ? AND parent = ? AND name = ?", (kind, parent, name)
            ).fetchone()
        return None if row is None else self._decoders[kind].decode(row[0])

    def delete(self, cls: type, name: str, parent: str = "") -> bool:
        kind = _kind_of_class(cls)
        with self.lock:
            cur = self._db.execute(
                "DELETE FROM resources WHERE kind = ? AND parent = ? AND name = ?", (kind, parent, name)
            )
            return cur.rowcount == 1

    def delete_children(self, model_name: str) -> int:
        with self.lock:
            return self._db.execute(
                "DELETE FROM resources WHERE kind = 'evaluation' AND parent = ?", (model_name,)
            ).rowcount

    def list(self, cls: type[R], parent: str = "", skip: int = 0, top: int | None = None) -> tuple[list[R], int]:
        """One page in creation order, and the total count."""
        kind = _kind_of_class(cls)
        with self.lock:
            total = self._db.execute(
                "SELECT COUNT(*) FROM resources WHERE kind = ? AND parent = ?", (kind, parent)
            ).fetchone()[0]
            rows = self._db.execute(
                "SELECT body FROM resources WHERE kind = ? AND parent = ? ORDER BY seq LIMIT ? OFFSET ?",
                (kind, parent, -1 if top is None else top, skip),
            ).fetchall()
        dec = self._decoders[kind]
        return [dec.decode(r[0]) for r in rows], total


def _kind_of_class(cls: type) -> str:
    for kind, c in _TYPES.items():
        if c is cls:
            return kind
    raise TypeError(f"not a stored record type: {cls.__name__}")
