"""Chaos helpers: spec sets, a forkserver that runs ``reconcile apply`` in a child process, counts.

Children are forked from a forkserver that imported the CLI once, so each killed
apply costs milliseconds of start-up instead of a fresh interpreter. The child runs
the real entry point (:func:`reconcile.cli.main`) with the real config, lock and
inventory; only the process start differs from a shell.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

from tests.fixtures.emulator import classification_coco
from tests.fixtures.project import coco_file

PRELOAD = ["reconcile.cli", "reconcile.cli.core", "reconcile.workflow", "reconcile.session", "reconcile.labels",
           "reconcile.client.http", "reconcile.backends.vision", "reconcile.lock", "reconcile.inventory",
           "reconcile.storage.fetch", "rich.console", "httpx", "yaml", "tests.chaos.harness"]

_CTX: Any = None


def context() -> Any:
    """The forkserver context (started on first use, with the CLI preloaded)."""
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(PRELOAD)
    return _CTX


def stop() -> None:
    """Stop the forkserver if it was started (it would also exit with this process)."""
    global _CTX
    if _CTX is None:
        return
    from multiprocessing import forkserver

    stopper = getattr(forkserver._forkserver, "_stop", None)  # noqa: SLF001 - no public way to stop it
    if stopper is not None:
        stopper()
    _CTX = None


def _run_cli(argv: list[str], env: dict[str, str], cwd: str, out: str) -> None:
    os.chdir(cwd)
    os.environ.update(env)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from reconcile.cli import main

    main(argv)


def start_cli(argv: list[str], *, env: dict[str, str], cwd: Path, out: Path) -> Any:
    """Start ``reconcile <argv>`` in a child process (stdout+stderr to ``out``); returns the Process."""
    proc = context().Process(target=_run_cli, args=(argv, env, str(cwd), str(out)), daemon=True)
    proc.start()
    return proc


def small_specs(root: Path, prefix: str, *, datasets: int = 4, models: int = 2) -> list[dict]:
    """``datasets`` datasets, ``models`` models (each with one evaluation): 6-10 resources."""
    uri = coco_file(root, f"{prefix}.json", classification_coco({"circle": 3, "square": 3}))
    docs: list[dict] = [{"kind": "Dataset", "name": f"{prefix}-d{i}", "annotationKind": "imageClassification",
                         "labels": [{"uri": uri}]} for i in range(datasets)]
    for i in range(models):
        docs.append({"kind": "Model", "name": f"{prefix}-m{i}", "modelKind": "Generic-Classifier",
                     "trainingDataset": f"{prefix}-d{i % datasets}", "budgetHours": 1})
        docs.append({"kind": "Evaluation", "name": "eval", "model": f"{prefix}-m{i}",
                     "dataset": f"{prefix}-d{(i + 1) % datasets}"})
    return docs


def created_counts(emulator: Any) -> dict[str, int]:
    """Per path, how many PUTs were answered 201 Created."""
    out: dict[str, int] = {}
    for r in emulator.request_log:
        if r.method == "PUT" and r.status == 201:
            out[r.path] = out.get(r.path, 0) + 1
    return out


def live_addresses(live: Any) -> set[str]:
    out = {f"dataset/{n}" for n in live.datasets} | {f"model/{n}" for n in live.models}
    return out | {f"evaluation/{m}/{n}" for m, n in live.evaluations}


def spec_addresses(docs: list[dict]) -> set[str]:
    out = set()
    for d in docs:
        if d["kind"] == "Evaluation":
            out.add(f"evaluation/{d['model']}/{d['name']}")
        else:
            out.add(f"{d['kind'].lower()}/{d['name']}")
    return out
