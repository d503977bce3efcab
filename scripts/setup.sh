#!/usr/bin/env bash
# Install everything the project needs into ./.venv (and ./node_modules with --test).
# Usage: scripts/setup.sh [--test]    (idempotent; safe to re-run)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23"

if [ "${1:-}" = "--test" ]; then
  # The test suite also exercises the Pulumi program (mocks only) and needs Azurite.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,infra]'
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
