"""`reconcile lock show` / `reconcile lock break` on a local (file) lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import reconcile.cli.lock as lock_cli
from reconcile.cli import cli
from reconcile.lock import FileLock
from tests.lock.helpers import Config, info


SEEN: list[tuple[object, object]] = []


@pytest.fixture
def config(tmp_path: Path, monkeypatch) -> Config:
    cfg = Config("dev", tmp_path / "state")
    SEEN.clear()

    def fake_config(path, environment):
        SEEN.append((path, environment))
        return cfg

    monkeypatch.setattr(lock_cli, "load_environment", fake_config)
    return cfg


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["lock", *args], input=input)


def test_show_free_and_held(config: Config) -> None:
    result = run("show", "--env", "dev")
    assert result.exit_code == 0, result.output
    assert "not locked" in result.output
    assert SEEN == [(None, "dev")]
    lock = FileLock(config.state_dir / "locks", "dev")
    with lock.acquire(info("alice@box", fingerprint="fp-3")):
        text = run("show").output
        assert "locked by alice@box since" in text and "plan fingerprint fp-3" in text
        data = json.loads(run("show", "--json").output)
        assert data["locked"] is True and data["holder"]["who"] == "alice@box"
        assert data["lock"].endswith("dev.lock")
    assert json.loads(run("show", "--json").output)["holder"] is None


def test_break_asks_first_and_frees_with_yes(config: Config) -> None:
    lock = FileLock(config.state_dir / "locks", "dev")
    held = lock.acquire(info("alice@box"))
    declined = run("break", input="n\n")
    assert declined.exit_code != 0 and "Only do this if that run is no longer running" in declined.output
    assert lock.current() is not None
    broke = run("break", "--yes")
    assert broke.exit_code == 0, broke.output
    assert "broke the lock held by alice@box" in broke.output
    assert lock.current() is None
    assert "nothing to break" in run("break", "--yes").output
    held.release()
