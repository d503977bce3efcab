"""Golden plan cases: specs + live state -> plan.

Each ``cases/*.yaml`` holds three documents: ``specs`` (the spec documents, and
optionally ``inventory`` records, ``prune``, ``guardrails`` limits and
``labelShas``: URI -> sha256 of the bytes found now), ``live`` (service JSON as
the list calls return it: datasets, models, evaluations) and ``plan`` (per
address: action, the changed field paths, the fields forcing replacement, the
drift kinds and ``protected``; plus the violated ``guardrails`` rules). Every
case also checks that the plan's own desired state, fed back as live state,
plans to nothing (the idempotence check).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconcile.backends.base import LiveState
from reconcile.backends.vision import (
    VisionBackend,
    dataset_body,
    evaluation_body,
    model_body,
    parse_dataset,
    parse_evaluation,
    parse_model,
)
from reconcile.inventory.records import Inventory, ResourceRecord
from reconcile.plan import fingerprints, render
from reconcile.plan.compute import compute_plan
from reconcile.plan.guardrails import Limits
from reconcile.specs.fingerprint import spec_hash
from reconcile.specs.loader import load_specs

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
STAMP = {"createdDateTime": "2023-01-13T20:46:20.189Z", "updatedDateTime": "2023-01-13T20:46:20.189Z"}


def _live(doc: dict) -> LiveState:
    datasets = {d["name"]: parse_dataset({**STAMP, "eTag": "etag0", **d}) for d in doc.get("datasets", [])}
    models = {m["name"]: parse_model({**STAMP, **m}) for m in doc.get("models", [])}
    evals = {}
    for e in doc.get("evaluations", []):
        ev = parse_evaluation({**STAMP, **e}, e["modelName"])
        evals[(ev.model, ev.name)] = ev
    return LiveState(datasets=datasets, models=models, evaluations=evals)


def _specs(tmp_path: Path, docs: list[dict], api_version: str):
    (tmp_path / "specs").mkdir()
    if docs:
        (tmp_path / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return load_specs([tmp_path / "specs"], root=tmp_path, api_version=api_version)


def _hashes(specs) -> dict[str, str]:
    hashes = {f"dataset/{n}": spec_hash(s) for n, s in specs.datasets.items()}
    hashes |= {f"model/{n}": spec_hash(s) for n, s in specs.models.items()}
    return hashes | {f"evaluation/{m}/{n}": spec_hash(s) for (m, n), s in specs.evaluations.items()}


def _plan(specs, live, doc: dict | None = None):
    """The plan of the case: its specs (URI labels, resolved by the planner itself), live
    state, inventory, guardrail limits and the label digests a probe would have found."""
    doc = doc or {}
    hashes = _hashes(specs)
    records = {}
    for r in doc.get("inventory", []):
        if r.get("specHash") == "CURRENT":  # the hash of the spec as written in the case
            r = {**r, "specHash": hashes[r["address"]]}
        records[r["address"]] = ResourceRecord.model_validate(r)
    limits = Limits(**{k: v for k, v in (doc.get("guardrails") or {}).items()})
    return compute_plan(specs, live, labels={}, environment="test", endpoint="http://emulator",
                        api_version=specs.api_version, capabilities=VisionBackend.capabilities,
                        prune=bool(doc.get("prune")), limits=limits, label_shas=doc.get("labelShas") or {},
                        inventory=Inventory(records=records))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_plan(case: Path, tmp_path: Path) -> None:
    specs_doc, live_doc, expected = list(yaml.safe_load_all(case.read_text()))
    specs = _specs(tmp_path, specs_doc["specs"], specs_doc.get("apiVersion", "2023-04-01-preview"))
    live = _live(live_doc or {})
    plan = _plan(specs, live, specs_doc)
    hashes = _hashes(specs)
    got = {
        c.address: {
            "action": c.action,
            "why": c.reason_code,
            **({"owner": c.owner} if c.owner else {}),
            **({"changes": [f.path for f in c.changes]} if c.changes else {}),
            **({"replaceFields": c.replace_fields} if c.replace_fields else {}),
            **({"drift": [d.kind for d in c.drift]} if c.drift else {}),
            **({"protected": True} if c.protected else {}),
        }
        for c in plan.changes
    }
    assert got == expected["plan"]
    assert list(got) == list(expected["plan"]), "the plan's order (deletions: evaluations, models, datasets)"
    # The plan pins exactly the live state it was computed against (what apply's staleness check compares).
    now = fingerprints.current(plan, live)
    assert {c.address: c.live_fingerprint for c in plan.changes} == now
    assert all(c.live_etag == live.datasets[c.name].etag for c in plan.changes
               if c.kind == "Dataset" and c.name in live.datasets)
    assert all(c.address == f"evaluation/{c.model}/{c.name}" for c in plan.changes if c.kind == "Evaluation")
    # Each change carries the typed live value of its resource, exactly as observed (None: absent).
    for c in plan.changes:
        have = {"Dataset": live.datasets.get(c.name), "Model": live.models.get(c.name),
                "Evaluation": live.evaluations.get((c.model or "", c.name))}[c.kind]
        assert (c.live is None) == (have is None), c.address
        if have is not None:
            assert c.live.kind == c.kind and c.live.name == have.name
            if c.kind == "Dataset":
                assert (c.live.label_uris, c.live.custom_properties, c.live.etag) == (
                    list(have.label_uris), dict(have.custom_properties), have.etag)
            else:
                assert (c.live.status, c.live.test_dataset) == (have.status, have.test_dataset)
    again = type(plan).from_json(plan.to_json())
    assert [c.live for c in again.changes] == [c.live for c in plan.changes]
    assert [v.rule for v in plan.guardrails] == expected.get("guardrails", [])
    assert {k: v for k, v in plan.summary.model_dump(by_alias=True).items() if v} == expected["summary"]
    # Every spec'd resource carries its spec's hash (what import and the inventory record).
    assert {c.address: c.spec_hash for c in plan.changes if c.address in hashes} == hashes
    assert plan.has_changes == any(v["action"] not in ("no-op", "unmanaged") for v in expected["plan"].values())
    # Every rendering names every violated rule, every drift class and every reason code.
    for text in (render.to_rich(plan).plain, render.to_markdown(plan)):
        for v in plan.guardrails:
            assert v.rule in text
        for c in plan.changes:
            for d in c.drift:
                assert d.kind in text
            if c.action != "no-op":
                assert f"[{c.reason_code}]" in text


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_desired_state_plans_to_nothing(case: Path, tmp_path: Path) -> None:
    """Feeding each change's desired value back as live state (in the service's shapes) must give
    an empty plan."""
    specs_doc, _live_doc, _ = list(yaml.safe_load_all(case.read_text()))
    specs = _specs(tmp_path, specs_doc["specs"], specs_doc.get("apiVersion", "2023-04-01-preview"))
    plan = _plan(specs, LiveState())
    # What the apply of that plan recorded: every spec'd resource is ours.
    owned = {"inventory": [{"address": c.address, "kind": c.kind, "name": c.name, "model": c.model}
                           for c in plan.changes]}
    live = {"datasets": [], "models": [], "evaluations": []}
    for c in plan.changes:
        if c.kind == "Dataset":
            live["datasets"].append({"name": c.name, **dataset_body(c.desired)})
        elif c.kind == "Model":
            # The service does not echo modelKind (docs/service-api.md §3, Models): normalization must cope.
            body = {"name": c.name, "status": "succeeded", **model_body(c.desired)}
            body["trainingParameters"] = {k: v for k, v in body["trainingParameters"].items() if k != "modelKind"}
            live["models"].append(body)
        else:
            live["evaluations"].append({"name": c.name, "modelName": c.model, "status": "succeeded",
                                        **evaluation_body(c.desired)})
    again = _plan(specs, _live(live), owned)
    assert [c.address for c in again.changes if c.action != "no-op"] == []
