"""The one source of the default of every tunable setting.

The project config (:mod:`reconcile.specs.config`), the HTTP client
(:mod:`reconcile.client.http`) and the executor (:mod:`reconcile.apply.executor`)
read these; docs/specs.md and docs/client.md state them, and a test checks the
docs against this module.
"""

from __future__ import annotations

RATE_LIMIT_TPS = 20.0
"""Most requests per second (the S1 tier allows 20)."""
MAX_CONCURRENCY = 4
"""Most requests in flight at once (observe's list calls and apply's changes)."""
TIMEOUT_SECONDS = 30.0
"""Timeout of one HTTP request."""
MAX_RETRIES = 5
"""Retries of a 429, 5xx or timeout before giving up (so at most MAX_RETRIES + 1 attempts)."""

MAX_BUDGET_HOURS_PER_MODEL = 48
"""Guardrail: refuse a model whose budgetHours is above this."""
MAX_BUDGET_HOURS_PER_APPLY = 96
"""Guardrail: refuse an apply whose new models together budget more hours than this."""
MAX_DELETIONS = 5
"""Guardrail: refuse an apply that deletes more resources than this."""
MAX_INSTANCE_HOURS_PER_DAY = 48
"""Guardrail: refuse an apply whose new deployments add more instance-hours per day than this (2 instances)."""

# --- the project config's defaults (vision-gitops.yaml; docs/specs.md states them) ----------------

SPECS = ("specs",)
"""Spec files or folders, relative to the repo root, when the config names none."""
KEY_ENV = "VISION_KEY"
"""``auth: {kind: key}``: the environment variable holding the endpoint's key."""
CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
"""``storage: {kind: azurite}``: the environment variable holding the connection string."""
CONTAINER = "vision-gitops"
"""The blob container when neither the config nor the stack outputs name one (azurite)."""
STATE_DIR = ".vision-gitops"
"""Local state, relative to the repo root (the embedded environment's; others add /<name>)."""
LOCAL_BLOBS = ".vision-gitops/blobs"
"""``storage: {kind: local}``: the folder, relative to the repo root."""
EMULATOR_SPEED = 3600.0
"""Embedded emulator: emulated seconds per real second (one training hour per second)."""
