#!/usr/bin/env bash
# The README's first command: install, then run the main job on the embedded
# default (the bundled emulator, no Azure account): validate -> plan -> apply -> status.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/reconcile demo "$@"
