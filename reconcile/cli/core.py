"""The reconciler's commands: validate, plan, apply, wait, status, predict, schema, demo.

Exit codes are :class:`reconcile.errors.ExitCode`: each command turns the outcome
value of its step (a plan, an apply result, a wait result) into one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconcile.cli.common import apply_lock, env_options, load_environment, make_console, open_environment
from reconcile.errors import ExitCode, InputError, UsageError

if TYPE_CHECKING:  # the CLI imports these lazily so that `--help` stays fast
    from reconcile.apply.executor import ApplyEvent
    from reconcile.apply.waiting import Progress as WaitProgress


def _exit(code: ExitCode) -> None:
    if code:
        raise click.exceptions.Exit(int(code))


# --- validate -----------------------------------------------------------------


@click.command()
@env_options
def validate(config_path: Path | None, environment: str | None) -> None:
    """Validate the config, every spec and every local COCO label file. Talks to no service."""
    from reconcile.labels import validate_local_labels
    from reconcile.workflow import load_desired

    config = load_environment(config_path, environment)
    specs = load_desired(config)
    report = validate_local_labels(specs)
    out = make_console()
    for line in report.lines():
        out.print(line)
    if not report.ok:
        raise InputError(f"{report.error_count} label file(s) are invalid (see above)",
                         hint="fix the files, or check one with `reconcile coco validate FILE --kind ...`")
    out.print(f"[green]valid[/green]: {len(specs.datasets)} datasets, {len(specs.models)} models, "
              f"{len(specs.evaluations)} evaluations, {len(specs.deployments)} deployments ({config.name}, "
              f"api-version {config.api_version})")


# --- plan -------------------------------------------------------------------------


@click.command()
@env_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan (JSON) for `reconcile apply FILE`.")
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the plan as Markdown.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan document (JSON) instead of text.")
@click.option("--show-unchanged", is_flag=True, help="List up-to-date resources too.")
@click.option("--prune", is_flag=True, help="Plan the deletion of owned resources whose specs were removed.")
@click.option("--detailed-exitcode", is_flag=True, help="For scheduled drift checks: exit 2 on changes *or drift*, 0 when clean, 1 on error.")
@click.option("--deep", is_flag=True, help="Read every dataset version (Azure ML: one list per dataset) instead of each data "
              "container's mirror of its latest version; finds a version archived or retagged outside. The drift "
              "workflow uses it.")
def plan(config_path: Path | None, environment: str | None, out_path: Path | None, md_path: Path | None,
         as_json: bool, show_unchanged: bool, prune: bool, detailed_exitcode: bool, deep: bool) -> None:
    """Show what apply would change. Exit 0: no changes; 2: changes (or drift with --detailed-exitcode); 1: error.

    On Azure ML a plan reads each dataset from its data container's mirror of its latest version unless the
    container has a newer version (fast, the default: a version archived or retagged outside without touching
    its container is not seen) or `--deep` is given (every version listed); the plan says which it did."""
    from reconcile.plan import render
    from reconcile.workflow import load_desired, make_plan

    config = load_environment(config_path, environment)
    specs = load_desired(config)
    with open_environment(config) as session:
        the_plan = make_plan(session, specs, prune=prune, deep=deep)
    if out_path is not None:
        out_path.write_text(the_plan.to_json())
    if md_path is not None:
        md_path.write_text(render.to_markdown(the_plan))
    if as_json:
        click.echo(the_plan.to_json(), nl=False)
    else:
        make_console().print(render.to_rich(the_plan, show_unchanged=show_unchanged))
        if out_path is not None:
            make_console().print(f"Saved the plan to {out_path}; apply exactly it with `reconcile apply {out_path}`.")
    _exit(the_plan.exit_code(detailed=detailed_exitcode))


# --- apply --------------------------------------------------------------------------


@click.command()
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@env_options
@click.option("--allow-replace", is_flag=True, help="Allow replacing models/evaluations whose immutable fields changed (retrains, bills again).")
@click.option("--wait", "wait_", is_flag=True, help="Follow training and evaluations until they finish.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="With --wait: give up waiting after this long (exit 3).")
@click.option("--lock-timeout", type=float, default=0.0, metavar="SECONDS", help="Wait this long for another apply's lock.")
@click.option("--prune", is_flag=True, help="Delete owned resources whose specs were removed (never protected or unmanaged ones).")
@click.option("--confirm-deletions", type=click.IntRange(min=0), default=None, metavar="N",
              help="Confirm exactly N deletions when they exceed guardrails.maxDeletions or the spec set is empty.")
@click.option("--approve-cost", is_flag=True, help="Accept training budgets over guardrails.maxBudgetHoursPerModel/PerApply.")
def apply(plan_file: Path | None, config_path: Path | None, environment: str | None, allow_replace: bool,
          wait_: bool, timeout: float | None, lock_timeout: float, prune: bool, confirm_deletions: int | None,
          approve_cost: bool) -> None:
    """Apply a saved plan (PLAN_FILE, refused if the live state changed since), or plan and apply.

    Exit 0: done; 3: writes done, training still running; 1: error (a guardrail refusal writes nothing).
    """
    from reconcile.plan import render
    from reconcile import bounded
    from reconcile.limits import PLAN_FILE_BYTES
    from reconcile.plan.model import Plan
    from reconcile.workflow import WaitSettings, load_desired, make_plan, run_apply

    config = load_environment(config_path, environment)
    err = make_console(stderr=True)
    saved: Plan | None = None
    if plan_file is not None:
        try:
            if not plan_file.exists():
                raise FileNotFoundError(plan_file)
            text = bounded.read_file(plan_file, PLAN_FILE_BYTES, str(plan_file))
        except FileNotFoundError:
            raise UsageError(f"{plan_file}: no such plan file", hint="make one with `reconcile plan --out FILE`") from None
        saved = Plan.from_json(text, where=str(plan_file))
    with open_environment(config) as session, apply_lock(config, saved, lock_timeout) as held:
        the_plan = saved if saved is not None else make_plan(session, load_desired(config), prune=prune)
        if not the_plan.has_changes:
            # Still run: apply records spec'd live resources in the inventory (and waits with --wait).
            make_console().print("No changes. Nothing to apply.")
        else:
            make_console().print(render.to_rich(the_plan))

        from rich.markup import escape

        def show(event: ApplyEvent) -> None:
            style = {"failed": "red", "deferred": "yellow", "adopted": "cyan", "done": "green",
                     "deleted": "magenta"}.get(event.status, "bold")
            if event.status != "start":
                err.print(f"{escape(event.address)}: [{style}]{event.status}[/] {escape(event.message)}", markup=True)

        result = run_apply(session, the_plan, allow_replace=allow_replace, wait=wait_,
                           wait_settings=WaitSettings(timeout=timeout), on_event=show,
                           check_lock=getattr(held, "check", None), approve_cost=approve_cost,
                           confirm_deletions=confirm_deletions, run_id=_run_id())
    out = make_console()
    if not the_plan.has_changes and not wait_:
        return
    deleted = f"{len(result.deleted)} deleted, " if result.deleted else ""
    out.print(f"Apply: {len(result.done)} done, {len(result.adopted)} already in place, {deleted}"
              f"{len(result.deferred)} deferred, {len(result.running)} running, {len(result.failed)} failed.")
    for address, message in result.failed:
        out.print(f"[red]failed[/red] {address}: {message}")
    if result.exit_code == ExitCode.RUNNING:
        out.print("Training, evaluations or a rollout are still running: follow them with `reconcile wait`, "
                  "then run apply again for what was deferred (evaluations, a traffic switch).")
    _exit(result.exit_code)


#: Applies the demo makes after ``apply --wait`` for a rollout to finish (endpoint, deployment, traffic).
DEMO_ROLLOUT_APPLIES = 20


def _demo_rollout(args: list[str], code: object) -> object:
    """Apply again while the rollout waits on provisioning (exit 3); the embedded clock runs fast."""
    import time

    for _ in range(DEMO_ROLLOUT_APPLIES):
        if code != ExitCode.RUNNING:
            return code
        time.sleep(0.5)
        code = apply.main(args=args + ["--wait"], prog_name="reconcile apply", standalone_mode=False)
    return code


def _run_id() -> str:
    """Who runs this apply, for intent records: the CI run URL, else user@host."""
    from reconcile.lock import LockInfo

    info = LockInfo.for_current_run("")
    return info.run_url or info.who


# --- wait / status / predict ----------------------------------------------------------


@click.command()
@env_options
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="Give up after this long (exit 3).")
@click.option("--poll", type=float, default=10.0, metavar="SECONDS", help="Polling interval.")
def wait(config_path: Path | None, environment: str | None, timeout: float | None, poll: float) -> None:
    """Follow every spec'd model and evaluation that is still running. Exit 0 done, 3 timed out, 1 failed.

    A model whose training succeeded but which still needs a step (Azure ML: registering its best trial) gets
    it here, as in `apply --wait`."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from reconcile.workflow import WaitSettings, load_desired, make_waiter, observe

    config = load_environment(config_path, environment)
    specs = load_desired(config)
    with open_environment(config) as session:
        live = observe(session, specs)
        models = [n for n in specs.models if n in live.models and not live.models[n].terminal]
        evals = [k for k in specs.evaluations if k in live.evaluations and not live.evaluations[k].terminal]
        if not models and not evals:
            make_console().print("Nothing is running.")
            return
        waiter = make_waiter(session, WaitSettings(timeout=timeout, poll=poll))
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=make_console(stderr=True), transient=True) as bar:
            task = bar.add_task("waiting", total=None)

            def update(p: WaitProgress) -> None:
                states = [f"{n}: {m.status}" for n, m in sorted(p.models.items())]
                states += [f"{m}/{n}: {e.status}" for (m, n), e in sorted(p.evaluations.items())]
                bar.update(task, description="; ".join(states) or "waiting")

            result = waiter.wait(models=models, evaluations=evals, on_progress=update)
    out = make_console()
    for name, m in sorted(result.models.items()):
        out.print(f"model/{name}: {m.status}" + (f" ({m.error_code})" if m.error_code else ""))
    for (mname, name), e in sorted(result.evaluations.items()):
        out.print(f"evaluation/{mname}/{name}: {e.status}" + (f" ({e.error_code})" if e.error_code else ""))
    if result.exit_code == ExitCode.RUNNING:
        out.print("Timed out; still running.")
    _exit(result.exit_code)


@click.command()
@env_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def status(config_path: Path | None, environment: str | None, as_json: bool) -> None:
    """Show live datasets, models (state, cost, metrics) and evaluations."""
    from reconcile.status import render_status, status_document
    from reconcile.workflow import load_inventory, observe_with_metrics

    config = load_environment(config_path, environment)
    with open_environment(config) as session:
        live = observe_with_metrics(session)
        owned = frozenset(load_inventory(session).records)
    doc = status_document(live, owned=owned)
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        render_status(doc, make_console())


@click.command()
@click.argument("model")
@click.argument("image")
@env_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--deployment", default=None, metavar="NAME",
              help="Services with deployments (azureml): score through this endpoint (its current traffic) or "
                   "deployment instead of the one serving MODEL's newest version.")
def predict(model: str, image: str, config_path: Path | None, environment: str | None, as_json: bool,
            deployment: str | None) -> None:
    """Run the custom MODEL on IMAGE (a local file or an http(s) URL) and print its tags or objects.

    On Azure ML the image is scored by the online deployment serving MODEL (a Deployment spec creates one)."""
    from reconcile import bounded
    from reconcile.limits import IMAGE_BYTES
    from reconcile.status import prediction_document, render_prediction

    config = load_environment(config_path, environment)
    is_url = image.startswith(("http://", "https://"))
    data = None
    if not is_url:
        path = Path(image)
        if not path.is_file():
            raise UsageError(f"{image}: no such image file", hint="give a local image path or an http(s) URL")
        data = bounded.read_file(path, IMAGE_BYTES, image)
    with open_environment(config) as session:
        if deployment is not None or session.backend.capabilities.deployments:
            from reconcile.apply.rollout import deployments_of

            if not session.backend.capabilities.deployments:
                raise UsageError(f"--deployment: the {session.backend.capabilities.service} service has no "
                                 "deployments", hint="omit --deployment")
            prediction = deployments_of(session.backend).predict(model, image=data, url=image if is_url else None,
                                                                 deployment=deployment)
        else:
            prediction = session.backend.predict(model, image=data, url=image if is_url else None)
    doc = prediction_document(prediction)
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        render_prediction(doc, make_console())


# --- schema / demo --------------------------------------------------------------------


def _demo_try(config: Any) -> str:
    """What the demo suggests next: predict scores directly on the Vision service; on Azure ML only through an
    online deployment, which predict names as missing."""
    env = "" if config.name == "local" else f" --env {config.name}"
    if config.service == "azureml":
        return (f"On Azure ML a model scores only through an online deployment of its registered version: "
                f"`reconcile predict{env} shapes-classifier data/shapes/classification/images/test-001.png` "
                "names the version and how to deploy it.")
    return (f"Try: `reconcile predict{env} shapes-classifier data/shapes/classification/images/test-001.png` or "
            f"`reconcile predict{env} shapes-detector data/shapes/detection/images/test-001.png`.")


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"),
              show_default=True, help="Folder to write the JSON Schemas to.")
def schema(out_dir: Path) -> None:
    """Write the JSON Schemas of specs, config and the plan document (for editors and CI)."""
    from reconcile.specs.schema import write_schemas

    written = write_schemas(out_dir)
    path = out_dir / PLAN_SCHEMA
    path.write_text(plan_schema_text(), encoding="utf-8")
    for p in [*written, path]:
        click.echo(str(p))


PLAN_SCHEMA = "plan.schema.json"


def plan_schema_text() -> str:
    """The exact text of schemas/plan.schema.json (kept current by tests/plan/test_schema.py)."""
    from reconcile.plan.model import plan_json_schema

    return json.dumps(plan_json_schema(), indent=2, ensure_ascii=False) + "\n"


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@click.option("--env", "environment", default="local", show_default=True, help="An environment with `endpoint: embedded`.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait for training.")
def demo(config_path: Path | None, environment: str, timeout: float) -> None:
    """validate -> plan -> apply --wait -> status on the embedded emulator, ending with trained models."""
    config = load_environment(config_path, environment)
    if not config.is_embedded:
        raise UsageError(f"environment {config.name!r} is not embedded; the demo never touches a real service",
                         hint="run `reconcile demo --env local`")
    args = ["--env", config.name] + (["--config", str(config_path)] if config_path else [])
    steps = [
        ("validate", validate, args),
        ("plan", plan, args),
        ("apply --wait", apply, args + ["--wait", "--timeout", str(timeout)]),
        ("status", status, args),
    ]
    out = make_console()
    deploys = config.service == "azureml"
    for title, command, argv in steps:
        out.rule(f"reconcile {title}")
        # Without standalone mode click returns the code of an Exit instead of raising it.
        code = command.main(args=argv, prog_name=f"reconcile {title}", standalone_mode=False)
        if deploys and title == "apply --wait":
            code = _demo_rollout(args, code)
        if isinstance(code, int) and code and not (title == "plan" and code == ExitCode.CHANGES):
            raise click.exceptions.Exit(code)
    if deploys:
        out.rule("reconcile predict (through the deployment)")
        sample = "data/shapes/classification/images/test-001.png"
        code = predict.main(args=["shapes-classifier", sample] + args, prog_name="reconcile predict",
                            standalone_mode=False)
        if isinstance(code, int) and code:
            raise click.exceptions.Exit(code)
        out.rule("done")
        out.print("The Azure ML emulator trained and evaluated the models, then the Deployment's gate held and "
                  "traffic moved to the classifier's deployment. Try: `reconcile predict shapes-classifier "
                  f"{sample} --env {config.name}`; change the Deployment's model and plan again to see the gate.")
        sys.stdout.flush()
        return
    out.rule("done")
    out.print("The bundled emulator trained these models on the images' pixels. Their metrics were measured on "
              "held-out test images: accuracyTop1 is the share named right (0.33 = guessing among three shapes), "
              "meanAveragePrecision50 how well the detector's boxes find the shapes (1 = all found, no false "
              "alarm ranked first). " + _demo_try(config))
    sys.stdout.flush()
