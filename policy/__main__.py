"""The policy pack run by ``pulumi preview --policy-pack policy/``.

Only this file constructs the ``PolicyPack``: the constructor starts the analyzer's gRPC server and
blocks, so tests import :mod:`policy.policies` and never this module.
"""

import sys
from pathlib import Path

# The CLI runs this directory as a script; make the repository root importable (policy.*, infra.roles).
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policy.policies import POLICIES  # noqa: E402

PolicyPack(
    name="vision-gitops-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
