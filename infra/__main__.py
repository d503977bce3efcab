"""Entry point the Pulumi CLI runs (``main: infra/`` in Pulumi.yaml): read config, build, export.

The stack's ``service`` key picks the program: ``vision`` (the default) or ``azureml``.

A config problem is re-raised as :class:`pulumi.RunError`, which the CLI prints as a plain message
(every bad key and what to do) instead of a Python traceback.
"""

import sys
from pathlib import Path

# The CLI runs this directory as a script; make the repository root importable for `infra.*`.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pulumi  # noqa: E402

from infra.azureml_config import AzureMLConfig  # noqa: E402
from infra.azureml_outputs import export_azureml_outputs  # noqa: E402
from infra.azureml_stack import build_azureml_stack  # noqa: E402
from infra.outputs import export_outputs  # noqa: E402
from infra.stack import build_stack  # noqa: E402
from infra.stack_config import load_pulumi_config  # noqa: E402
from reconcile.errors import ConfigError  # noqa: E402

try:
    _config = load_pulumi_config()
except ConfigError as exc:
    raise pulumi.RunError(str(exc)) from None

if isinstance(_config, AzureMLConfig):
    export_azureml_outputs(build_azureml_stack(_config))
else:
    export_outputs(build_stack(_config))
