"""The SQLite part every emulator store shares: one connection, one lock and a ``meta`` table.

A room's store subclasses :class:`SqliteStore`, names its file (``DB_FILE``) and its
tables (``SCHEMA``), and adds its own typed reads and writes under :attr:`SqliteStore.lock`.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import ClassVar

_META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


class SqliteStore:
    """A database file under ``state_dir`` (WAL, survives restarts), or in memory when ``None``.

    Thread-safe: every method holds :attr:`lock`; the connection is in autocommit mode,
    so each statement is atomic on its own.
    """

    DB_FILE: ClassVar[str]
    SCHEMA: ClassVar[str]

    def __init__(self, state_dir: Path | None = None) -> None:
        self.path: Path | None = None
        if state_dir is not None:
            state_dir = Path(state_dir)
            state_dir.mkdir(parents=True, exist_ok=True)
            self.path = state_dir / self.DB_FILE
        self.lock = threading.RLock()
        """Held by the service across read-modify-write sequences."""
        self._db = sqlite3.connect(":memory:" if self.path is None else str(self.path), check_same_thread=False,
                                   isolation_level=None)
        if self.path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(self.SCHEMA + _META_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
