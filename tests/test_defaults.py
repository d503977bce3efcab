"""One default per setting: the config, the client, the executor and the docs agree with
:mod:`reconcile.defaults`."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from reconcile import defaults
from reconcile.apply.executor import ApplyOptions
from reconcile.client.http import VisionClient
from reconcile.specs.config import EnvironmentConfig, Guardrails, GuardrailsFile

DOCS = Path(__file__).resolve().parents[1] / "docs"

#: docs/specs.md key -> the default it must state
DOCUMENTED = {
    "rateLimitTps": defaults.RATE_LIMIT_TPS,
    "maxConcurrency": defaults.MAX_CONCURRENCY,
    "timeoutSeconds": defaults.TIMEOUT_SECONDS,
    "maxRetries": defaults.MAX_RETRIES,
    "guardrails.maxBudgetHoursPerModel": defaults.MAX_BUDGET_HOURS_PER_MODEL,
    "guardrails.maxBudgetHoursPerApply": defaults.MAX_BUDGET_HOURS_PER_APPLY,
    "guardrails.maxDeletions": defaults.MAX_DELETIONS,
    "guardrails.maxInstanceHoursPerDay": defaults.MAX_INSTANCE_HOURS_PER_DAY,
}


def test_the_config_docs_table_states_the_defaults_in_force() -> None:
    rows = dict(re.findall(r"^\| `([\w.]+)` \| ([^|]*) \|", (DOCS / "specs.md").read_text(), re.M))
    for key, value in DOCUMENTED.items():
        assert float(rows[key]) == value, key


def test_the_client_docs_state_the_client_defaults() -> None:
    text = (DOCS / "client.md").read_text()
    assert f"`max_retries` (default {defaults.MAX_RETRIES}) retries, i.e. {defaults.MAX_RETRIES + 1} attempts" in text
    assert f"`rate_limit_tps` (default {defaults.RATE_LIMIT_TPS:g})" in text
    assert f"pool `timeout` ({defaults.TIMEOUT_SECONDS:g} s)" in text


def test_config_client_and_executor_share_the_defaults() -> None:
    fields = EnvironmentConfig.model_fields
    assert fields["rate_limit_tps"].default == defaults.RATE_LIMIT_TPS
    assert fields["max_concurrency"].default == defaults.MAX_CONCURRENCY
    assert fields["timeout_seconds"].default == defaults.TIMEOUT_SECONDS
    assert fields["max_retries"].default == defaults.MAX_RETRIES
    client = inspect.signature(VisionClient.__init__).parameters
    assert client["max_retries"].default == defaults.MAX_RETRIES
    assert client["rate_limit_tps"].default == defaults.RATE_LIMIT_TPS
    assert client["timeout"].default == defaults.TIMEOUT_SECONDS
    assert ApplyOptions().max_concurrency == defaults.MAX_CONCURRENCY
    for model in (Guardrails(), GuardrailsFile()):
        assert (model.max_budget_hours_per_model, model.max_budget_hours_per_apply, model.max_deletions,
                model.max_instance_hours_per_day) == (
            defaults.MAX_BUDGET_HOURS_PER_MODEL, defaults.MAX_BUDGET_HOURS_PER_APPLY, defaults.MAX_DELETIONS,
            defaults.MAX_INSTANCE_HOURS_PER_DAY)
