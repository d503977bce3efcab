"""``reconcile emulator serve --service azureml`` starts the Azure ML emulator (HTTPS, Azurite datastore)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 30.0


@pytest.mark.azurite
def test_serve_azureml_listens_over_https_and_stops_on_sigterm(azurite, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "emulator", "serve", "--service", "azureml", "--port", "0",
         "--state", str(tmp_path), "--blob-endpoint", azurite.blob_endpoint, "--token", "cli-token"],
        stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + START_DEADLINE_S
        while not any("TLS certificate" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            lines.append(proc.stderr.readline())
        endpoint = lines[-2].split("listening on ")[1].split(" ")[0]
        cert = tmp_path / "tls" / "emulator-cert.pem"
        assert endpoint.startswith("https://127.0.0.1:") and cert.exists()
        trust = ssl.create_default_context(cafile=str(cert))
        health = httpx.get(endpoint + "/_emulator/health", verify=trust)
        assert health.json() == {"status": "ok", "service": "azureml"}
        ws = httpx.get(endpoint + "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vision-gitops/"
                       "providers/Microsoft.MachineLearningServices/workspaces/vision-gitops-ws",
                       params={"api-version": "2024-04-01"}, headers={"Authorization": "Bearer cli-token"},
                       verify=trust)
        assert ws.status_code == 200
        assert "cli-token" not in "".join(lines)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert (tmp_path / "azureml-emulator.sqlite3").exists()


@pytest.mark.parametrize("flags, message", [(["--tps-limit", "5"], "token buckets"),
                                            (["--trainer", "prior"], "always learn from the pixels")])
def test_vision_only_flags_are_refused_for_azureml(flags, message):
    from click.testing import CliRunner

    from reconcile.cli.emulator import emulator

    result = CliRunner().invoke(emulator, ["serve", "--service", "azureml", "--port", "0", *flags])
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output
