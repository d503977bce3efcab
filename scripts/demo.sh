#!/usr/bin/env bash
# The README's first command: install, then run the main job on the embedded
# default (the bundled emulator, no Azure account): validate -> plan -> apply -> status.
set -euo pipefail
cd "$(dirname "$0")/.."
# An Azure ML environment (e.g. `--env local-azureml`) keeps its datastore in Azurite: install it too.
case " $* " in
  *azureml*) bash scripts/setup.sh --azurite ;;
  *) bash scripts/setup.sh ;;
esac
exec .venv/bin/reconcile demo "$@"
