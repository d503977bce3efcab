#!/usr/bin/env bash
# The README's test command: install everything, then run the whole test suite.
# The suite starts the services it needs itself (the emulator in-process,
# Azurite from ./node_modules on 127.0.0.1) and stops them when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
