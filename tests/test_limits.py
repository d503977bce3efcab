"""docs/limits.md documents every limit of reconcile/limits.py with its real default."""

from __future__ import annotations

import re
from pathlib import Path

from reconcile.limits import LIMITS, Limit, human_bytes

DOC = Path(__file__).resolve().parent.parent / "docs" / "limits.md"


def _table() -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOC.read_text(encoding="utf-8"), flags=re.M)
    return {name: shown.strip() for name, shown in rows}


def test_the_table_lists_every_limit_with_its_default() -> None:
    assert _table() == {name: lim.shown for name, lim in LIMITS.items()}


def test_shown_values_read_as_written() -> None:
    assert human_bytes(20 * 1024 * 1024) == "20 MiB" and human_bytes(1000) == "1000 bytes"
    assert Limit("x", 100_000, "count", "").shown == "100,000"
    assert Limit("x", 64, "levels", "").shown == "64 levels"
