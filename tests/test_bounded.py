"""reconcile.bounded: regular files only, sizes capped before and while reading, limits named."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from reconcile import bounded
from reconcile.errors import InputError, LimitExceededError
from reconcile.limits import Limit

TINY = Limit("tinyBytes", 1024, "bytes", "a test input")


def test_a_file_within_the_limit_is_read_and_hashed(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 1024)
    assert bounded.read_file(tmp_path / "f", TINY, "f") == b"x" * 1024
    assert bounded.hash_file(tmp_path / "f", TINY, "f")[1] == 1024


def test_a_larger_file_is_refused_naming_the_limit(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 1025)
    with pytest.raises(LimitExceededError, match=r"f is larger than the tinyBytes limit of 1 KiB \(1025 bytes\)"):
        bounded.read_file(tmp_path / "f", TINY, "f")


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "folder"])
def test_devices_fifos_and_folders_are_refused_before_reading(tmp_path: Path, target: str) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    path = Path(target) if target.startswith("/") else tmp_path / target
    with pytest.raises(InputError, match="not a regular file"):
        bounded.read_file(path, TINY, target)


def test_a_file_that_reports_a_small_size_is_still_cut_at_the_limit() -> None:
    # procfs reports size 0; the read itself must stop past the limit.
    with pytest.raises(LimitExceededError):
        bounded.read_file("/proc/self/maps", Limit("t", 16, "bytes", ""), "maps")


def test_http_bodies_are_streamed_and_cut_and_declared_sizes_refused_first() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/declared":
            return httpx.Response(200, headers={"content-length": "999999"}, content=b"")
        if request.url.path == "/missing":
            return httpx.Response(404, content=b"e" * 100_000)
        return httpx.Response(200, content=iter([b"y" * 600, b"y" * 600]))

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(LimitExceededError, match="999999 bytes"):
            bounded.http_get(client, "http://t/declared", TINY, "declared")
        with pytest.raises(LimitExceededError, match="tinyBytes"):
            bounded.http_get(client, "http://t/streamed", TINY, "streamed")
        missing = bounded.http_get(client, "http://t/missing", TINY, "missing")
        assert missing.status == 404 and len(missing.data) == 64 * 1024
