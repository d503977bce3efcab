"""The apply lock and protect on a service: azureml environment (against the emulator and Azurite)."""

from __future__ import annotations

import pytest
import yaml

from reconcile.cli.common import apply_lock
from reconcile.errors import LockHeldError
from reconcile.lock import lock_for
from reconcile.workflow import load_desired, make_plan, run_apply
from tests.backends.azureml.test_workflow import SPECS, project  # noqa: F401 - project is a fixture

pytestmark = pytest.mark.azurite


def test_the_apply_lock_is_a_lease_in_the_datastore_container_and_a_second_apply_is_refused(project) -> None:  # noqa: F811
    _srv, session = project
    config = session.config
    with apply_lock(config, None, 0.0):
        with pytest.raises(LockHeldError) as caught:
            with apply_lock(config, None, 0.0):
                pass
        shown = lock_for(config).current()
        assert shown is not None and shown.environment == config.name
    assert "apply lock" in str(caught.value) and config.name in str(caught.value)
    assert f"/{config.storage.container}/" in str(caught.value)  # the lease lives in the environment's container
    with apply_lock(config, None, 0.0):  # released: the next apply takes it
        pass


def test_a_protected_dataset_is_kept_when_its_spec_is_removed(project) -> None:  # noqa: F811
    _srv, session = project
    docs = [dict(s, protect=True) if s["name"] == "cls-test" else dict(s) for s in SPECS]
    (session.config.root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs))
    run_apply(session, make_plan(session, load_desired(session.config)))
    kept = [s for s in docs if s["name"] != "cls-test"]
    kept[-1] = {k: v for k, v in kept[-1].items() if k != "testDataset"}
    (session.config.root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(kept))
    plan = make_plan(session, load_desired(session.config), prune=True)
    change = {c.address: c for c in plan.changes}["dataset/cls-test"]
    assert change.action == "no-op" and change.protected, (change.action, change.reason)
    run_apply(session, plan, confirm_deletions=1)
    versions = session.backend._versions("cls-test")
    assert [v["properties"]["isArchived"] for v in versions] == [False]  # not archived
