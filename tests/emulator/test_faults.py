"""Fault injection (latency, TPS limit, error answers, dropped connections) and the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reconcile.emulator.faults import FaultConfig
from tests.fixtures.emulator import api, raw, start_validated

BODY = {"annotationKind": "imageClassification", "annotationFileUris": ["https://a.blob.core.windows.net/c/x.json"]}
ROOT = Path(__file__).resolve().parents[2]


def test_faults_are_off_by_default(emulator):
    assert emulator.faults == FaultConfig()
    with api(emulator) as c:
        assert all(c.get("/datasets").status_code == 200 for _ in range(30))


def test_added_latency_is_logged(emulator):
    emulator.faults.latency_ms = 50
    with api(emulator) as c:
        c.get("/datasets")
    assert emulator.request_log[0].duration >= 0.05


def test_tps_limit_answers_429_like_the_gateway(emulator):
    emulator.faults.tps_limit = 3
    with api(emulator) as c:
        answers = [c.get("/datasets") for _ in range(10)]
    limited = [r for r in answers if r.status_code == 429]
    assert len(limited) >= 4  # a 10-request burst spans at most two one-second windows
    for r in limited:
        assert int(r.headers["Retry-After"]) >= 1
        assert re.fullmatch(r"Rate limit is exceeded\. Try again in \d+ seconds\.", r.json()["error"]["message"])
        assert r.json()["error"]["code"] == "429" and r.headers["x-ms-error-code"] == "429"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_error_rate_answers_the_configured_statuses(emulator, status):
    emulator.faults = FaultConfig(error_rate=1.0, error_statuses=(status,), retry_after_seconds=2)
    with api(emulator) as c:
        r = c.put("/datasets/x", json=BODY)
        emulator.faults = FaultConfig()
        assert c.get("/datasets/x").status_code == 404  # the injected error did not write
    assert r.status_code == status
    assert r.json()["error"]["code"]
    if status in (429, 503):
        assert r.headers["Retry-After"] == "2"


def _statuses(seed: int) -> list[int]:
    srv, watch = start_validated(faults=FaultConfig(error_rate=0.4, seed=seed))
    with srv, api(srv) as c:
        out = [c.get("/datasets").status_code for _ in range(25)]
    assert not watch.violations
    return out


def test_faults_are_seeded_and_reproducible():
    first, again, other = _statuses(7), _statuses(7), _statuses(8)
    assert first == again
    assert first != other
    assert {200} < set(first) <= {200, 429, 500, 503}


def test_drop_before_write_is_a_transport_error_and_writes_nothing(emulator):
    emulator.faults.drop_before_rate = 1.0
    with api(emulator) as c:
        with pytest.raises(httpx.TransportError):
            c.put("/datasets/d", json=BODY)
        emulator.faults.drop_before_rate = 0.0
        assert c.get("/datasets/d").status_code == 404
    assert emulator.request_log[0].status == 0


def test_drop_after_write_is_a_transport_error_but_the_write_happened(emulator):
    emulator.faults.drop_after_rate = 1.0
    with api(emulator) as c:
        with pytest.raises(httpx.TransportError):
            c.put("/datasets/d", json=BODY)
        emulator.faults.drop_after_rate = 0.0
        # "Did my PUT happen?" -- yes: a retry gets 409, a GET finds it.
        assert c.put("/datasets/d", json=BODY).status_code == 409
        assert c.get("/datasets/d").status_code == 200
    assert emulator.request_log.count(status=0) == 1


def test_invalid_fault_settings_are_refused():
    for bad in ({"error_rate": 2}, {"latency_ms": -1}, {"tps_limit": 0}, {"error_statuses": [418]}):
        with pytest.raises(ValueError):
            FaultConfig.from_dict(bad)


def _serve(*args: str) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "VISION_EMULATOR_KEY": "cli-key-123"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "emulator", "serve", "--port", "0", *args],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    line = proc.stderr.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/computervision", line)
    if not match:
        proc.kill()
        proc.wait()
        raise AssertionError(f"no ready line: {line!r}")
    return proc, match.group(1), line


def test_cli_serve_with_fault_flags_and_admin_clock(tmp_path):
    proc, endpoint, ready = _serve("--state", str(tmp_path / "s"), "--error-rate", "1", "--seed", "3", "--speed", "60")
    try:
        h = {"Ocp-Apim-Subscription-Key": "cli-key-123"}
        r = raw("GET", endpoint + "/computervision/datasets", params={"api-version": "2023-07-01-preview"}, headers=h)
        assert r.status_code in (429, 500, 503)
        assert raw("GET", endpoint + "/computervision/datasets").status_code == 401
        clock = raw("GET", endpoint + "/_emulator/clock", headers=h).json()
        assert clock["kind"] == "speed" and clock["speed"] == 60
        assert "cli-key-123" not in ready and "auth: key" in ready
    finally:
        proc.terminate()
        proc.wait(10)
    assert (tmp_path / "s" / "emulator.sqlite3").exists()


def test_cli_refuses_bad_flags():
    out = subprocess.run([sys.executable, "-m", "reconcile", "emulator", "serve", "--error-rate", "3"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "error_rate" in out.stderr
