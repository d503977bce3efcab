"""The plan as coloured text (terminal) and as Markdown (pull-request comments).

Both renderings come from the same :class:`~reconcile.plan.model.Plan` and show
the same facts: per resource the action, why, the fields that differ (and which
force a replacement), the label diff, and the worst-case training hours.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from reconcile.plan.model import FieldValue, Gate, GateCheck, LabelDiffDoc, Plan, ResourceChange

if TYPE_CHECKING:
    from rich.text import Text

_SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "new-version": "+v", "no-op": " ", "delete": "-",
           "unmanaged": "?", "conflict": "!"}
_STYLE = {"create": "green", "update": "yellow", "replace": "red", "new-version": "green", "no-op": "dim",
          "delete": "red", "unmanaged": "dim", "conflict": "red"}
_VERB = {"create": "will be created", "update": "will be updated in place", "replace": "must be replaced",
         "new-version": "gets a new version beside the current one",
         "no-op": "is up to date", "delete": "will be deleted (--prune)",
         "unmanaged": "is not managed by vision-gitops (never touched; `reconcile import` adopts it)",
         "conflict": "exists and is not managed by vision-gitops (apply refuses it)"}


def _verb(c: ResourceChange) -> str:
    # A reverted model is a new-version in the document, but nothing new is trained: say so.
    return "is reverted to an earlier version (no training)" if c.reason_code == "reverted" else _VERB[c.action]


def redacted(plan: Plan) -> Plan:
    """``plan`` with every secret masked in every string (live values, notes, warnings): what renderers show."""
    return Plan.from_json(plan.to_json())  # to_json redacts


def _shown(c: ResourceChange, show_unchanged: bool) -> bool:
    return c.action != "no-op" or show_unchanged or bool(c.notes) or bool(c.drift)


def _fmt(value: FieldValue) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True)


def _label_diff_lines(diff: LabelDiffDoc) -> list[str]:
    lines: list[str] = []
    if diff.note:
        lines.append(diff.note)
    if diff.categories_added:
        lines.append("categories added: " + ", ".join(diff.categories_added))
    if diff.categories_removed:
        lines.append("categories removed: " + ", ".join(diff.categories_removed))
    for old, new in diff.categories_renamed:
        lines.append(f"category renamed: {old} -> {new}")
    for c in diff.per_category:
        if (c.images_before, c.boxes_before) != (c.images_after, c.boxes_after):
            box = f", boxes {c.boxes_before} -> {c.boxes_after}" if (c.boxes_before or c.boxes_after) else ""
            lines.append(f"{c.name}: images {c.images_before} -> {c.images_after}{box}")
    if diff.images_added or diff.images_removed:
        lines.append(f"images: +{diff.images_added} -{diff.images_removed}")
        if diff.examples_added:
            lines.append("  added e.g. " + ", ".join(diff.examples_added))
        if diff.examples_removed:
            lines.append("  removed e.g. " + ", ".join(diff.examples_removed))
    return lines


def _why(c: ResourceChange) -> str:
    """The reason, for humans and machines alike: ``<text> [<code>]`` in every rendering."""
    return f"{c.reason} [{c.reason_code}]" if c.reason else f"[{c.reason_code}]"


def _summary_line(plan: Plan) -> str:
    s = plan.summary
    if not plan.has_changes:
        return f"No changes. {s.no_op} resources are up to date."
    text = f"Plan: {s.create} to create, {s.update} to update, {s.replace} to replace, "
    if s.new_version:
        text += f"{s.new_version} new versions, "
    if s.delete:
        text += f"{s.delete} to delete, "
    if s.conflict:
        text += f"{s.conflict} in conflict, "
    text += f"{s.no_op} unchanged."
    if s.training_hours:
        text += f" Worst-case training: {s.training_hours} compute hours."
    if s.instance_hours_per_day:
        text += f" New deployments: +{s.instance_hours_per_day} instance-hours per day."
    return text


def _extra_lines(plan: Plan) -> list[str]:
    """Drift, unmanaged and guardrail lines shown under the summary."""
    s = plan.summary
    out = []
    if s.drifted:
        out.append(f"Drift: {s.drifted} resource(s) drifted (see `drift:` above).")
    if s.conflict:
        out.append(f"Conflict: {s.conflict} spec'd name(s) are held by live resources vision-gitops does not own; "
                   "apply refuses this plan (`reconcile import` them, or rename the specs).")
    if s.unmanaged:
        out.append(f"Unmanaged: {s.unmanaged} live resource(s) are not ours and are never touched.")
    for v in plan.guardrails:
        how = f"apply refuses unless {v.override}" if v.override else "apply refuses"
        out.append(f"Guardrail {v.rule}: {v.message} -- {how}.")
    if plan.observation:
        out.append(f"Observed ({plan.observation}).")
    return out


def _figure(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _check_line(k: GateCheck) -> str:
    """``holdout accuracyTop1 >= 0.9: candidate 0.95 -- pass``; a regression check shows the incumbent too."""
    if k.rule == "threshold":
        head = f"{k.evaluation} {k.metric} >= {_figure(k.required)}: candidate {_figure(k.candidate)}"
    elif k.required is None and k.incumbent is None:  # no incumbent figure (nothing serves, or not evaluated yet)
        head = f"{k.evaluation} {k.metric} must not regress: candidate {_figure(k.candidate)}"
    else:
        head = (f"{k.evaluation} {k.metric} must not regress (>= {_figure(k.required)}): candidate "
                f"{_figure(k.candidate)}, incumbent {_figure(k.incumbent)}")
    shown = k.detail and (k.status != "pass" or k.candidate is None or k.incumbent is None and k.rule != "threshold")
    return f"{head} -- {k.status}" + (f" ({k.detail})" if shown else "")


def _gate_lines(gate: Gate) -> list[str]:
    out = [f"gate: {gate.status.upper()} for {gate.candidate}"
           + (f" (serving now: {gate.incumbent})" if gate.incumbent else " (nothing serves yet)")]
    out += [f"  {_check_line(k)}" for k in gate.checks]
    out += [f"  gate waits/fails because: {r}" for r in gate.reasons]
    if gate.incumbent_evaluations:
        out.append(f"  apply first evaluates the incumbent: {', '.join(gate.incumbent_evaluations)}")
    if gate.status == "pass":
        out.append("  apply re-checks the gate right before it moves traffic")
    return out


def _change_detail(c: ResourceChange) -> list[str]:
    out: list[str] = []
    if c.action == "conflict":
        out.append(_why(c))
        if c.changes:
            out.append("once imported, apply would change:")
    elif c.reason and c.action != "no-op":
        out.append(f"because {_why(c)}")
    for f in c.changes:
        mark = "  # forces replacement" if f.forces_replacement else ""
        out.append(f"{f.path}: {_fmt(f.before)} -> {_fmt(f.after)}{mark}")
    if c.action == "replace":
        allowed = "allowed (allowReplace)" if c.replace_allowed else "refused unless allowed (allowReplace: true or --allow-replace)"
        out.append(f"replacement: {allowed}")
        if c.kind == "Model" and c.live_status in ("notStarted", "training"):
            out.append(f"the running training ({c.live_status}) is cancelled and awaited before deletion")
    for lf in c.labels:
        if lf.upload:
            out.append(f"upload {lf.source} -> {lf.uri}")
    if c.label_diff is not None:
        out.extend("labels: " + line for line in _label_diff_lines(c.label_diff))
    if c.training_hours and c.action in ("create", "replace", "new-version"):
        out.append(f"training budget: up to {c.training_hours} compute hours")
    if c.gate is not None:
        out.extend(_gate_lines(c.gate))
    if c.desired is not None and c.desired.kind == "Deployment" and c.action in ("create", "update"):
        if c.desired.traffic:
            out.append("traffic after apply: " + ", ".join(f"{k} {v} %" for k, v in sorted(c.desired.traffic.items())))
        if c.desired.remove:
            out.append("deletes old deployments: " + ", ".join(c.desired.remove))
    if c.instance_hours_per_day:
        out.append(f"cost: +{c.instance_hours_per_day} instance-hours per day while it exists (traffic or not)")
    if c.protected and c.action in ("replace", "delete"):
        out.append("protected: apply refuses this")
    if c.action == "delete" and c.kind == "Model" and c.live_status in ("notStarted", "training"):
        out.append(f"the running training ({c.live_status}) is cancelled and awaited before deletion")
    out.extend(f"drift ({d.kind}): {d.detail}" for d in c.drift)
    out.extend(f"note: {n}" for n in c.notes)
    return out


def to_rich(plan: Plan, *, show_unchanged: bool = False) -> Text:
    """The plan for a terminal, secrets masked (``.plain`` is the same text without colour)."""
    from rich.text import Text

    plan = redacted(plan)

    text = Text()
    text.append(f"Environment {plan.environment} ({plan.endpoint}, api-version {plan.api_version})\n", style="bold")
    if any(_shown(c, show_unchanged) for c in plan.changes):
        text.append("\n")
    for c in plan.changes:
        if not _shown(c, show_unchanged):
            continue
        text.append(f"{_SYMBOL[c.action]:>3} {c.address} ", style=f"bold {_STYLE[c.action]}")
        text.append(_verb(c) + "\n", style=_STYLE[c.action])
        for d in _change_detail(c):
            text.append(f"      {d}\n", style="red" if "forces replacement" in d or "protected" in d else None)
        text.append("\n")
    for w in plan.warnings:
        text.append(f"warning: {w}\n", style="yellow")
    text.append(_summary_line(plan) + "\n", style="bold")
    for line in _extra_lines(plan):
        text.append(line + "\n", style="red" if line.startswith("Guardrail") else "yellow")
    return text


def to_markdown(plan: Plan) -> str:
    """GitHub-flavoured Markdown: a summary table, then one section per change."""
    plan = redacted(plan)
    out = [f"### vision-gitops plan: `{plan.environment}`", "", _summary_line(plan), ""]
    for line in _extra_lines(plan):
        out += [f"> **{line}**" if line.startswith("Guardrail") else f"> {line}", ""]
    changed = [c for c in plan.changes if c.action != "no-op" or c.drift]
    if changed:
        out += ["| | resource | action | why |", "|---|---|---|---|"]
        for c in changed:
            why = _why(c).replace("|", "\\|")
            if c.drift:
                why = (why + "; " if why else "") + "drift: " + ", ".join(d.kind for d in c.drift)
            out.append(f"| `{_SYMBOL[c.action]}` | `{c.address}` | {c.action} | {why} |")
        out.append("")
        for c in changed:
            out.append(f"<details><summary><code>{c.address}</code> {_verb(c)}</summary>")
            out.append("")
            for d in _change_detail(c):
                if not d.startswith("  "):  # gate checks go in the table below
                    out.append(f"- {d}")
            if c.gate is not None and c.gate.checks:
                out += ["", "| evaluation | metric | rule | required | candidate | incumbent | result |",
                        "|---|---|---|---|---|---|---|"]
                out += [f"| {k.evaluation} | {k.metric} | {k.rule} | {_figure(k.required)} | {_figure(k.candidate)} | "
                        f"{_figure(k.incumbent) if k.rule != 'threshold' else '-'} | **{k.status}** |"
                        for k in c.gate.checks]
                out.append("")
            if c.gate is not None:
                out += [f"- {line.strip()}" for line in _gate_lines(c.gate)[1:] if not line.startswith("  ") or
                        not any(line.strip() == _check_line(k) for k in c.gate.checks)]
            out += ["", "</details>", ""]
    if plan.warnings:
        out.append("**Warnings**")
        out.append("")
        out += [f"- {w}" for w in plan.warnings]
        out.append("")
    out.append(
        f"<sub>api-version {plan.api_version} · plan format {plan.format_version} · "
        f"live {plan.live_fingerprint[:12]} · vision-gitops {plan.tool_version}</sub>"
    )
    return "\n".join(out) + "\n"
