"""Live state and predictions as documents (JSON) and tables (terminal).

The JSON shapes are stable: ``datasets[]``, ``models[]`` (with ``status``,
``trainingCostInMinutes`` and ``metrics``), ``evaluations[]``, and on a service with
deployments ``endpoints[]`` (traffic, each deployment's ``model:version`` and provisioning state);
a prediction has ``tags[]`` and ``objects[]``.
"""

from __future__ import annotations

from typing import Any

from reconcile.backends.base import LiveState, Prediction
from reconcile.plan.normalize import LABELS_DIGEST_KEY, MANAGED_BY_KEY

#: Headline metric per model kind, shown in the table.
_HEADLINE = ("accuracyTop1", "averagePrecision", "meanAveragePrecision50")


def _metrics(perf: Any) -> dict[str, Any]:
    if not perf:
        return {}
    return {k: v for k, v in perf.items() if k != "tagPerformance"} | (
        {"tagPerformance": perf["tagPerformance"]} if "tagPerformance" in perf else {}
    )


def status_document(live: LiveState, *, owned: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The live state as a document. ``owned`` holds the inventory's addresses: a dataset is
    managed when it carries our marker, a model or evaluation when the inventory records it."""
    datasets = [
        {
            "name": d.name,
            "annotationKind": d.annotation_kind,
            "labelFiles": len(d.label_uris),
            "managed": d.custom_properties.get(MANAGED_BY_KEY) == "vision-gitops",
            "labelsSha256": d.custom_properties.get(LABELS_DIGEST_KEY),
            "updated": d.updated,
        }
        for d in sorted(live.datasets.values(), key=lambda d: d.name)
    ]
    models = [
        {
            "name": m.name,
            "managed": f"model/{m.name}" in owned,
            "status": m.status,
            "modelKind": m.model_kind,
            "trainingDataset": m.training_dataset,
            "budgetHours": m.budget_hours,
            "trainingCostInMinutes": m.training_cost_minutes,
            "error": {"code": m.error_code, "message": m.error_message} if m.error_code else None,
            "metrics": _metrics(m.performance),
        }
        for m in sorted(live.models.values(), key=lambda m: m.name)
    ]
    evaluations = [
        {
            "model": e.model,
            "name": e.name,
            "managed": f"evaluation/{e.model}/{e.name}" in owned,
            "status": e.status,
            "dataset": e.test_dataset,
            "error": {"code": e.error_code, "message": e.error_message} if e.error_code else None,
            "metrics": _metrics(e.performance),
        }
        for _, e in sorted(live.evaluations.items())
    ]
    doc: dict[str, Any] = {"datasets": datasets, "models": models, "evaluations": evaluations}
    if live.endpoints:
        doc["endpoints"] = [
            {
                "name": ep.name,
                "managed": ep.managed or f"deployment/{ep.name}" in owned,
                "provisioningState": ep.provisioning,
                "traffic": {k: v for k, v in sorted(ep.traffic.items()) if v},
                "deployments": [{"name": d.name, "model": d.model, "version": d.model_version,
                                 "instances": d.instance_count, "instanceType": d.instance_type,
                                 "provisioningState": d.provisioning} for d in sorted(ep.deployments.values(),
                                                                                      key=lambda d: d.name)],
            }
            for ep in sorted(live.endpoints.values(), key=lambda e: e.name)
        ]
    return doc


def _headline(metrics: dict[str, Any]) -> str:
    parts = [f"{k}={metrics[k]:.3f}" for k in _HEADLINE if isinstance(metrics.get(k), (int, float))]
    return ", ".join(parts) or "-"


def render_status(doc: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    t = Table(title="Datasets", title_justify="left")
    for col in ("name", "kind", "label files", "managed", "updated"):
        t.add_column(col)
    for d in doc["datasets"]:
        t.add_row(d["name"], d["annotationKind"], str(d["labelFiles"]), "yes" if d["managed"] else "no", d["updated"] or "")
    console.print(t)

    t = Table(title="Models", title_justify="left")
    for col in ("name", "status", "kind", "dataset", "budget h", "cost min", "managed", "metrics"):
        t.add_column(col)
    for m in doc["models"]:
        status = m["status"] + (f" ({m['error']['code']})" if m["error"] else "")
        cost = "" if m["trainingCostInMinutes"] is None else str(m["trainingCostInMinutes"])
        t.add_row(m["name"], status, m["modelKind"] or "", m["trainingDataset"], str(m["budgetHours"]), cost,
                  "yes" if m["managed"] else "no", _headline(m["metrics"]))
    console.print(t)

    t = Table(title="Evaluations", title_justify="left")
    for col in ("model", "name", "status", "dataset", "managed", "metrics"):
        t.add_column(col)
    for e in doc["evaluations"]:
        status = e["status"] + (f" ({e['error']['code']})" if e["error"] else "")
        t.add_row(e["model"], e["name"], status, e["dataset"] or "", "yes" if e["managed"] else "no",
                  _headline(e["metrics"]))
    console.print(t)

    if doc.get("endpoints"):
        t = Table(title="Endpoints", title_justify="left")
        for col in ("endpoint", "deployment", "serves", "instances", "state", "traffic %", "managed"):
            t.add_column(col)
        for ep in doc["endpoints"]:
            for d in ep["deployments"] or [{"name": "", "model": "", "version": "", "instances": 0,
                                             "instanceType": "", "provisioningState": ""}]:
                t.add_row(ep["name"], d["name"], f"{d['model']}:{d['version']}" if d["name"] else "",
                          f"{d['instances']} × {d['instanceType']}" if d["name"] else "",
                          d["provisioningState"] or ep["provisioningState"], str(ep["traffic"].get(d["name"], 0)),
                          "yes" if ep["managed"] else "no")
        console.print(t)


def prediction_document(p: Prediction) -> dict[str, Any]:
    return {
        "model": p.model,
        "width": p.width,
        "height": p.height,
        "tags": [{"name": t.name, "confidence": t.confidence} for t in p.tags],
        "objects": [
            {"boundingBox": {"x": o.x, "y": o.y, "w": o.w, "h": o.h},
             "tags": [{"name": t.name, "confidence": t.confidence} for t in o.tags]}
            for o in p.objects
        ],
    }


def render_prediction(doc: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    console.print(f"model {doc['model']} on a {doc['width']}x{doc['height']} image")
    if doc["tags"]:
        t = Table(title="Tags", title_justify="left")
        t.add_column("tag")
        t.add_column("confidence", justify="right")
        for tag in sorted(doc["tags"], key=lambda t: -t["confidence"]):
            t.add_row(tag["name"], f"{tag['confidence']:.3f}")
        console.print(t)
    if doc["objects"]:
        t = Table(title="Objects", title_justify="left")
        for col in ("x", "y", "w", "h", "tag", "confidence"):
            t.add_column(col)
        for o in doc["objects"]:
            best = max(o["tags"], key=lambda t: t["confidence"]) if o["tags"] else {"name": "", "confidence": 0.0}
            b = o["boundingBox"]
            t.add_row(str(b["x"]), str(b["y"]), str(b["w"]), str(b["h"]), best["name"], f"{best['confidence']:.3f}")
        console.print(t)
    if not doc["tags"] and not doc["objects"]:
        console.print("no tags or objects")
