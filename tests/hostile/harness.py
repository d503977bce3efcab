"""A mutation fuzzer for hostile input: specs, config, COCO files, paths and symlinks, YAML bombs,
deep and oversized JSON, emulator request bodies -- and secrets planted in all of them.

One *trial* builds a throw-away project from a valid seed, applies one random hostile
mutation, runs the reader that input reaches (the same functions ``validate`` and
``plan`` call, in-process) and classifies the outcome:

- **clean**: the run succeeded, or failed with a :class:`~reconcile.errors.ReconcileError`
  whose text names where (a file, line or field) -- and no planted secret appears in
  any message, and nothing was written outside the project;
- anything else is a **finding** (an unexpected exception type, an emulator 5xx, an
  answer that poisons a later one, a secret in the output), recorded with its input.

:func:`main` runs N trials and prints one JSON line (trials, clean, findings, peak
RSS). ``tests/hostile/test_fuzz.py`` runs it in a subprocess under an address-space cap
(``RLIMIT_AS``), so an input that makes memory grow fails the run instead of the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

#: Secrets planted in inputs (and the environment); none may appear in any output.
KEY = "5f3c9e1a7b2d4c6e8f0a1b2c3d4e5f60"
SIG = "Zq7SecretSig0nature%2Bxyz%3D"
SAS_URI = f"https://acct.blob.core.windows.net/c/l.coco.json?sv=2022-11-02&se=2030-01-01&sp=r&sig={SIG}"
ACCOUNT_KEY = "Q" * 40 + "SecretAccountKey" + "w" * 30 + "=="
CONN = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTZWNyZXRUb2tlbiJ9.SecretTokenSignaturePart"
BEARER = f"Bearer {TOKEN}"
#: The substrings whose appearance in output is a leak (the distinctive part of each secret).
LEAK_MARKERS = (KEY, "Zq7SecretSig0nature", "SecretAccountKey", "SecretTokenSignaturePart", "eyJzdWIiOiJTZWNyZXRUb2tlbiJ9")

SECRET_VALUES = (KEY, SAS_URI, f"?sv=2022-11-02&sig={SIG}", CONN, BEARER, TOKEN, ACCOUNT_KEY)

HOSTILE_STRINGS = (
    "../x", "../../etc/passwd", "/etc", "/", "C:\\\\Windows", "a\\\\b", "data/\u0000x", "x" * 256,
    "y/" * 3000, "file:///dev/zero", "file:///proc/self/environ", "https://h/" + "u" * 70_000,
    "\u202e\u0000\ufeff", "", " ", "~", ".", "specs", "data", "data/img", "vision-gitops.managed-by",
    "vision-gitops.x", "!!float x", "&a [*a]", "*undefined", "{", "[", "'", '"', "\t", "\x7f",
    "é" * 10, "😀" * 50, "0" * 400, "1e999", "-1", "NaN",
) + SECRET_VALUES

TAGS = ("!!float", "!!int", "!!binary", "!!timestamp", "!!python/object:os.system", "!!set", "!!omap", "!!str", "!!bool")

SPEC_SEED = """kind: Dataset
name: d1
annotationKind: imageClassification
labels:
  - file: data/l.coco.json
    images: data/img
customProperties:
  team: vision
---
kind: Model
name: m1
modelKind: Generic-Classifier
trainingDataset: d1
budgetHours: 1
"""

CONFIG_SEED = """defaultEnvironment: local
specs: [specs]
apiVersion: 2023-04-01-preview
environments:
  local:
    endpoint: embedded
    storage: {kind: local, path: .vision-gitops/blobs}
    stateDir: .vision-gitops
  dev:
    stackOutputs: infra/dev.json
    auth: {kind: entra}
"""

STACK_SEED = {
    "visionEndpoint": "https://v.cognitiveservices.azure.com", "visionAccountName": "v", "visionSubdomain": "v",
    "visionPrincipalId": "p", "resourceGroupName": "rg", "location": "westus", "storageAccountName": "s",
    "blobEndpoint": "https://s.blob.core.windows.net", "containerName": "c",
    "containerUrl": "https://s.blob.core.windows.net/c", "ciPrincipalId": "ci",
}  # fmt: skip

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def coco_seed(n: int = 4, detection: bool = False) -> dict[str, Any]:
    ann = [{"id": i, "image_id": i, "category_id": 1 + i % 2} for i in range(1, n + 1)]
    if detection:
        for a in ann:
            a["bbox"] = [0.1, 0.1, 0.5, 0.5]
    return {
        "images": [{"id": i, "width": 64, "height": 64, "file_name": f"{i}.png"} for i in range(1, n + 1)],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": ann,
    }


@dataclass
class Outcome:
    kind: str
    mutation: str
    clean: bool
    detail: str = ""


@dataclass
class Tally:
    trials: int = 0
    clean: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    findings: list[dict[str, str]] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        self.trials += 1
        self.clean += o.clean
        row = self.by_kind.setdefault(o.kind, [0, 0])
        row[0] += 1
        row[1] += o.clean
        if not o.clean and len(self.findings) < 50:
            self.findings.append({"kind": o.kind, "mutation": o.mutation[:300], "detail": o.detail[:1500]})


# --- building projects ------------------------------------------------------------------------


def make_project(root: Path, *, spec: str = SPEC_SEED, config: str = CONFIG_SEED,
                 coco: bytes | None = None) -> Path:
    (root / "specs").mkdir(parents=True)
    (root / "data" / "img").mkdir(parents=True)
    (root / "infra").mkdir()
    (root / "vision-gitops.yaml").write_text(config, encoding="utf-8", errors="surrogatepass")
    (root / "specs" / "all.yaml").write_text(spec, encoding="utf-8", errors="surrogatepass")
    (root / "data" / "l.coco.json").write_bytes(coco if coco is not None else json.dumps(coco_seed()).encode())
    for i in range(1, 5):
        (root / "data" / "img" / f"{i}.png").write_bytes(PNG)
    (root / "infra" / "dev.json").write_text(json.dumps(STACK_SEED))
    return root


def _yaml_scalar(rng: random.Random) -> str:
    value = rng.choice(HOSTILE_STRINGS)
    style = rng.randrange(4)
    if style == 0:
        return json.dumps(value)  # double-quoted, escapes kept
    if style == 1 and "'" not in value and "\n" not in value:
        return f"'{value}'"
    if style == 2:
        return f"{rng.choice(TAGS)} {json.dumps(value)}"
    return value.replace("\n", " ") or "''"


def alias_bomb(rng: random.Random) -> str:
    fan, depth = rng.randint(2, 12), rng.randint(3, 12)
    lines = ["l0: &l0 [" + ", ".join(["lol"] * fan) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]" for i in range(1, depth)]
    return "\n".join(lines) + f"\nkind: Dataset\nname: d1\nannotationKind: imageClassification\nlabels: *l{depth - 1}\n"


def deep_text(rng: random.Random, opener: str, closer: str) -> str:
    n = rng.choice((70, 500, 5_000, 100_000))
    return opener * n + closer * n


def mutate_yaml(text: str, rng: random.Random) -> tuple[str, str]:
    """One hostile change to a YAML document's text: a value, a key, a structure or the bytes."""
    lines = text.splitlines()
    op = rng.randrange(9)
    i = rng.randrange(len(lines))
    if op == 0 and ":" in lines[i]:
        head = lines[i].split(":", 1)[0]
        lines[i] = f"{head}: {_yaml_scalar(rng)}"
    elif op == 1:
        lines.insert(i, f"{json.dumps(rng.choice(HOSTILE_STRINGS))}: {_yaml_scalar(rng)}")
    elif op == 2:
        return alias_bomb(rng), "alias bomb"
    elif op == 3:
        lines[i] = lines[i] + " " + deep_text(rng, "[", "]")
    elif op == 4:
        del lines[i]
    elif op == 5:
        return text.replace("data/l.coco.json", rng.choice(HOSTILE_STRINGS)), "label file path"
    elif op == 6:
        return text.replace("data/img", rng.choice(HOSTILE_STRINGS)), "images path"
    elif op == 7:
        raw = bytearray(text.encode())
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return raw.decode("utf-8", "surrogateescape"), "byte flips"
    else:
        lines.insert(i, "  " * rng.randint(0, 3) + rng.choice(("- ", "? ", "<<: ", "&a ", "*a", "--- ", "%TAG ! x")))
    return "\n".join(lines) + "\n", f"op{op} line {i}: {lines[min(i, len(lines) - 1)][:200]!r}"


def mutate_coco(rng: random.Random) -> tuple[bytes, str]:
    doc = coco_seed(detection=rng.random() < 0.5)
    op = rng.randrange(8)
    if op == 0:
        doc["annotations"][0]["bbox"] = [rng.choice((0, 0.1, 0.5, 1e308, -1, "x", None)) for _ in range(rng.randint(0, 7))]
    elif op == 1:
        doc["images"][0]["file_name"] = rng.choice(HOSTILE_STRINGS)
    elif op == 2:
        doc["images"][0]["absolute_url"] = rng.choice(HOSTILE_STRINGS)
    elif op == 3:
        return deep_text(rng, '{"a":', "}").replace("}", "1}", 1).encode(), "deep JSON"
    elif op == 4:
        section = rng.choice(("images", "annotations", "categories"))
        doc[section] = rng.choice((None, {}, "x", [None], [[]], [{"id": True}], [{"id": 2**70}]))
    elif op == 5:
        raw = bytearray(json.dumps(doc).encode())
        for _ in range(rng.randint(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw), "byte flips"
    elif op == 6:
        doc["images"][0]["width"] = rng.choice((0, -1, 1e308, 2**80, "64", None, True))
    else:
        doc["categories"][0]["name"] = rng.choice(HOSTILE_STRINGS)
    return json.dumps(doc).encode(), f"coco op{op}"


# --- the readers, as validate and plan call them ------------------------------------------------


def _check_text(text: str) -> str | None:
    for marker in LEAK_MARKERS:
        if marker in text:
            return f"secret {marker[:12]}... in output"
    if "Traceback (most recent call last)" in text or "internal error" in text:
        return "traceback or internal error in output"
    return None


def _located(text: str, names: tuple[str, ...]) -> bool:
    return any(n in text for n in names)


def run_local(root: Path) -> tuple[str, bool]:
    """Config -> specs -> local label files, as ``reconcile validate`` runs them. (text, ok)."""
    from reconcile.labels import validate_local_labels
    from reconcile.specs.config import load_config
    from reconcile.specs.loader import load_specs

    config = load_config(root / "vision-gitops.yaml")
    specs = load_specs(config.specs, root=config.root, api_version=config.api_version)
    report = validate_local_labels(specs)
    return "\n".join(report.lines()), report.ok


class _PlanSession:
    """What plan's local steps need of a session: the config and a blob store (a folder; no network)."""

    def __init__(self, config: Any) -> None:
        from reconcile.storage.local import LocalFolderStore

        self.config = config
        self._store = LocalFolderStore(config.root / ".vision-gitops" / "blobs")
        self.backend = _VisionLabelChecks()

    def blob_store(self) -> Any:
        return self._store


class _VisionLabelChecks:
    """The Vision backend's plan-time label check (``Backend.check_labels``): nothing beyond COCO."""

    def check_labels(self, dataset: str, annotation_kind: str, files: Any) -> None:
        return None


def run_parity(root: Path) -> tuple[str, bool]:
    """Validate; if the specs validate, plan's local steps (label files resolved and built, desired
    datasets with their markers) must succeed too -- ``validate`` runs every local check plan runs."""
    from reconcile.backends.base import LiveState
    from reconcile.errors import ReconcileError
    from reconcile.labels import resolve_labels, validate_local_labels
    from reconcile.plan.desired import desired_dataset, uri_labels
    from reconcile.specs.config import load_config
    from reconcile.specs.loader import load_specs

    config = load_config(root / "vision-gitops.yaml")
    specs = load_specs(config.specs, root=config.root, api_version=config.api_version)
    if not validate_local_labels(specs).ok:
        return "", False
    try:
        resolved = resolve_labels(specs, _PlanSession(config), LiveState())
        for name, spec in specs.datasets.items():
            desired_dataset(spec, resolved.labels.get(name) or uri_labels(spec))
    except ReconcileError as exc:
        raise ParityError(f"validate passed but plan failed: {exc}") from None
    return "", True


class ParityError(Exception):
    """``validate`` accepted what ``plan`` refuses for a local reason (a finding, not an input error)."""


def run_stack(root: Path) -> tuple[str, bool]:
    from reconcile.specs.config import load_config

    load_config(root / "vision-gitops.yaml", environment="dev")
    return "", True


def run_build(root: Path) -> tuple[str, bool]:
    """The local label file built as plan builds it (images hashed, URLs filled)."""
    from reconcile.labels import OfflineStore, _build

    data = _build(root, "data/l.coco.json", "data/img", OfflineStore()).data
    return data[:2000].decode("utf-8", "replace"), True


def guarded(kind: str, mutation: str, root: Path, fn: Callable[[Path], tuple[str, bool]],
            names: tuple[str, ...]) -> Outcome:
    from reconcile.errors import ReconcileError

    outside_before = _outside_snapshot(root)
    try:
        text, _ = fn(root)
    except ReconcileError as exc:
        text = str(exc)
        if not _located(text, names):
            return Outcome(kind, mutation, False, f"error does not say where: {text}")
    except Exception as exc:  # noqa: BLE001 - every other exception is a finding
        return Outcome(kind, mutation, False, "".join(traceback.format_exception(exc))[-1500:])
    if (bad := _check_text(text)) is not None:
        return Outcome(kind, mutation, False, f"{bad}: {text[:800]}")
    if _outside_snapshot(root) != outside_before:
        return Outcome(kind, mutation, False, "wrote outside the project")
    return Outcome(kind, mutation, True)


def _outside_snapshot(root: Path) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in root.parent.iterdir() if p != root))


# --- trial kinds ---------------------------------------------------------------------------------


def trial_spec(rng: random.Random, root: Path) -> Outcome:
    text, what = mutate_yaml(SPEC_SEED, rng)
    make_project(root, spec=text)
    return guarded("spec", what, root, run_local, ("specs/all.yaml", "data/l.coco.json", "specs"))


def trial_config(rng: random.Random, root: Path) -> Outcome:
    text, what = mutate_yaml(CONFIG_SEED, rng)
    make_project(root, config=text)
    return guarded("config", what, root, run_local, ("vision-gitops.yaml", "specs/all.yaml", "specs"))


def trial_coco(rng: random.Random, root: Path) -> Outcome:
    from reconcile.coco.validate import ValidationOptions, validate_bytes

    data, what = mutate_coco(rng)
    make_project(root, coco=data)
    try:
        for kind in ("imageClassification", "imageObjectDetection"):
            report = validate_bytes(data, ValidationOptions(kind=kind, require_urls=False))
            for p in report.problems:
                if (bad := _check_text(p.message + " ".join(e.detail for e in p.examples))) is not None:
                    return Outcome("coco", what, False, bad)
    except Exception as exc:  # noqa: BLE001
        return Outcome("coco", what, False, "".join(traceback.format_exception(exc))[-1500:])
    return guarded("coco", what, root, run_local, ("data/l.coco.json",))


def trial_parity(rng: random.Random, root: Path) -> Outcome:
    if rng.random() < 0.5:
        text, what = mutate_yaml(SPEC_SEED, rng)
        make_project(root, spec=text)
    else:
        data, what = mutate_coco(rng)
        make_project(root, coco=data)
    return guarded("parity", what, root, run_parity, ("specs/all.yaml", "data/l.coco.json", "specs", "image"))


def trial_paths(rng: random.Random, root: Path) -> Outcome:
    make_project(root)
    img = root / "data" / "img"
    target = rng.choice(("/proc/self/environ", "/dev/zero", "/etc/passwd", str(root.parent), "../../vision-gitops.yaml",
                         "1.png", "/nonexistent", str(img)))
    victim = rng.choice(("img1", "img_dir", "label", "fifo", "specs_dir"))
    if victim == "img1":
        (img / "1.png").unlink()
        os.symlink(target, img / "1.png")
    elif victim == "img_dir":
        shutil.rmtree(img)
        os.symlink(target, img)
    elif victim == "label":
        (root / "data" / "l.coco.json").unlink()
        os.symlink(target, root / "data" / "l.coco.json")
    elif victim == "fifo":
        (img / "2.png").unlink()
        os.mkfifo(img / "2.png")
    else:
        os.symlink(target, root / "specs" / "linked")
    what = f"{victim} -> {target}"
    fn = run_build if rng.random() < 0.5 else run_local
    return guarded("paths", what, root, fn, ("png", "data/", "specs/", "image"))


def trial_stack(rng: random.Random, root: Path) -> Outcome:
    make_project(root)
    op = rng.randrange(5)
    out = root / "infra" / "dev.json"
    if op == 0:
        out.write_text(deep_text(rng, "[", "]"))
    elif op == 1:
        out.write_text(deep_text(rng, '{"a":', "}").replace("}", "1}", 1))
    elif op == 2:
        doc = dict(STACK_SEED, **{rng.choice(list(STACK_SEED)): rng.choice(HOSTILE_STRINGS)})
        out.write_text(json.dumps(doc))
    elif op == 3:
        out.write_bytes(os.urandom(rng.randint(0, 300)))
    else:
        out.write_text(json.dumps(STACK_SEED) + " " * (300 * 1024))
    return guarded("stack", f"stack op{op}", root, run_stack, ("infra/dev.json", "vision-gitops.yaml"))


_CLIENT: list[Any] = []


def _emulator() -> Any:
    if not _CLIENT:
        import warnings

        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        from reconcile.emulator.app import build_app
        from reconcile.emulator.clock import ManualClock
        from reconcile.emulator.service import Service
        from reconcile.emulator.store import Store

        clock = ManualClock()
        _CLIENT.append((TestClient(build_app(Service(Store(None), clock)), raise_server_exceptions=False), clock))
    return _CLIENT[0]


ROUTES = (
    ("PUT", "/computervision/datasets/fz"),
    ("PATCH", "/computervision/datasets/fz"),
    ("PUT", "/computervision/models/fz"),
    ("PUT", "/computervision/models/fz/evaluations/e"),
    ("POST", "/computervision/imageanalysis:analyze?model-name=fz"),
)


HOSTILE_URIS = (
    "https://xn--/x", "https://a..b/x", "https://ex ample.com/x", "https://h:99999/x", "http://[::1/x",
    "file:///dev/zero", "file:///proc/self/environ", "file:///etc", "https://h/" + "u" * 3000, SAS_URI,
    "file:///nonexistent", "https://127.0.0.1:1/x", "ftp://h/x", "https://\u0000/x", "https://h/%zz",
)


def trial_training(rng: random.Random, root: Path) -> Outcome:
    """A model trained on a dataset with a hostile label URI fails alone: later answers stay 200."""
    client, clock = _emulator()
    uri = rng.choice(HOSTILE_URIS)
    v = "api-version=2023-04-01-preview"
    what = f"train on {uri[:80]!r}"
    try:
        client.put(f"/computervision/datasets/tr?{v}", json={"annotationKind": "imageClassification",
                                                             "annotationFileUris": [uri]})
        client.put(f"/computervision/models/tr?{v}", json={"trainingParameters": {
            "trainingDatasetName": "tr", "timeBudgetInHours": 1, "modelKind": "Generic-Classifier"}})
        clock.advance(7200)
        answers = [client.get(f"/computervision/models?{v}"), client.get(f"/computervision/models/tr?{v}")]
        client.delete(f"/computervision/models/tr?{v}")
        client.delete(f"/computervision/datasets/tr?{v}")
    except Exception as exc:  # noqa: BLE001
        return Outcome("training", what, False, "".join(traceback.format_exception(exc))[-1500:])
    bad = [a for a in answers if a.status_code >= 500]
    if bad:
        return Outcome("training", what, False, f"{bad[0].status_code}: {bad[0].text[:300]}")
    if (leak := _check_text(" ".join(a.text for a in answers))) is not None:
        return Outcome("training", what, False, leak)
    return Outcome("training", what, True)


def trial_emulator(rng: random.Random, root: Path) -> Outcome:
    client, _ = _emulator()
    method, path = rng.choice(ROUTES)
    op = rng.randrange(6)
    if op == 0:
        body = deep_text(rng, "[", "]").encode()
    elif op == 1:
        body = deep_text(rng, '{"a":', "}").replace("}", "1}", 1).encode()
    elif op == 2:
        body = json.dumps({"annotationKind": "imageClassification",
                           "annotationFileUris": ["https://h/" + "u" * rng.choice((100, 3000, 70_000, 2_000_000))]}).encode()
    elif op == 3:
        body = json.dumps({"annotationKind": "imageClassification", "annotationFileUris": ["https://h/l.json"],
                           "customProperties": {"k": "v" * rng.choice((10, 5000, 2_000_000))}}).encode()
    elif op == 4:
        body = json.dumps({"url": rng.choice(("file:///dev/zero", "file:///proc/self/environ", "file:///etc",
                                              SAS_URI, "http://[::1", "x" * 5000))}).encode()
    else:
        body = os.urandom(rng.randint(0, 2000))
    sep = "&" if "?" in path else "?"
    what = f"{method} {path} op{op} ({len(body)} bytes)"
    try:
        resp = client.request(method, f"{path}{sep}api-version=2023-04-01-preview", content=body,
                              headers={"content-type": "application/json"})
        listing = client.get("/computervision/datasets?api-version=2023-04-01-preview")
    except Exception as exc:  # noqa: BLE001
        return Outcome("emulator", what, False, "".join(traceback.format_exception(exc))[-1500:])
    if resp.status_code >= 500:
        return Outcome("emulator", what, False, f"{resp.status_code}: {resp.text[:500]}")
    if listing.status_code != 200 or len(listing.content) > 4 * 1024 * 1024:
        return Outcome("emulator", what, False, f"later list answered {listing.status_code}, {len(listing.content)} bytes")
    if (bad := _check_text(resp.text)) is not None:
        return Outcome("emulator", what, False, bad)
    if resp.status_code in (200, 201):  # keep the store small: each trial starts from nothing
        client.delete(f"{path.split('?')[0]}?api-version=2023-04-01-preview")
    return Outcome("emulator", what, True)


TRIALS: dict[str, Callable[[random.Random, Path], Outcome]] = {
    "spec": trial_spec, "config": trial_config, "coco": trial_coco, "paths": trial_paths,
    "stack": trial_stack, "emulator": trial_emulator, "parity": trial_parity, "training": trial_training,
}  # fmt: skip


def run(trials: int, seed: int, kinds: list[str] | None = None, budget_seconds: float | None = None) -> dict[str, Any]:
    """Run ``trials`` trials (or until ``budget_seconds``); the summary as a JSON-able dict."""
    os.environ["VISION_KEY"] = KEY  # a leak of the environment would show the key
    rng = random.Random(seed)
    tally = Tally()
    names = kinds or list(TRIALS)
    start = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        for n in range(trials):
            if budget_seconds is not None and time.monotonic() - start > budget_seconds:
                break
            kind = names[n % len(names)]
            sandbox = base / f"t{n}"
            sandbox.mkdir()
            try:
                tally.add(TRIALS[kind](random.Random(rng.random()), sandbox / "repo"))
            finally:
                shutil.rmtree(sandbox, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "trials": tally.trials,
        "clean": tally.clean,
        "by_kind": tally.by_kind,
        "seconds": round(time.monotonic() - start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "findings": tally.findings,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--kinds", default="", help="comma-separated subset of " + ", ".join(TRIALS))
    parser.add_argument("--budget", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args(argv)
    summary = run(args.trials, args.seed, [k for k in args.kinds.split(",") if k] or None, args.budget)
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
