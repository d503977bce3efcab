#!/usr/bin/env bash
# Install everything the project needs into ./.venv (and ./node_modules with --test).
# Usage: scripts/setup.sh [--test | --azurite]    (idempotent; safe to re-run)
#   --azurite: the package and Azurite (the local-azureml environment's datastore), no test extras
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23"

install_azurite() {
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
}

if [ "${1:-}" = "--test" ]; then
  # The test suite also exercises the Pulumi program (mocks only) and needs Azurite.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,infra]'
  install_azurite
elif [ "${1:-}" = "--azurite" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
  [ -x node_modules/.bin/azurite-blob ] || install_azurite
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
