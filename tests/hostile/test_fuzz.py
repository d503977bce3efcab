"""The mutation fuzzer (tests/hostile/harness.py) under a memory cap: every trial clean.

CI runs a short profile (a few seconds); ``HOSTILE_PROFILE=long`` runs thousands of
trials (or use ``bench/bench_hostile.py`` for the figures).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.hostile.helpers import MEMORY_CAP, run_python

PROFILES = {"ci": 240, "long": 6000}


def test_every_fuzz_trial_is_clean_and_memory_stays_bounded(tmp_path: Path) -> None:
    trials = PROFILES[os.environ.get("HOSTILE_PROFILE", "ci")]
    run = run_python(["-m", "tests.hostile.harness", "--trials", str(trials), "--seed", "11"], tmp_path,
                     timeout=max(120, trials))
    assert run.code == 0, run.out[-3000:]
    summary = json.loads(run.out.strip().splitlines()[-1])
    assert summary["findings"] == []
    assert summary["trials"] == summary["clean"] == trials
    assert all(total == clean for total, clean in summary["by_kind"].values())
    assert summary["peak_rss_mb"] * 1024 * 1024 < MEMORY_CAP
