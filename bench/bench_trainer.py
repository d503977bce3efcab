"""Benchmark the emulator's learning trainer (``pixels``) against the prior baseline.

Usage::

    .venv/bin/python bench/bench_trainer.py            # everything (about 10 minutes on 2 cores)
    .venv/bin/python bench/bench_trainer.py --quick    # no 5,000-image point

Every figure is measured in this one run:

1. **Demo data** (``data/shapes``): the service's own metrics of a model trained on
   ``train.coco.json`` and measured on ``test.coco.json``, through the emulator's
   trainer adapter (images read from ``file://`` URLs and decoded, as in a run).
   Targets: classifier accuracyTop1 >= 0.9, detector meanAveragePrecision50 >= 0.6.
2. **Harder scenes** generated here (never seen while the learner was built):
   cluttered and noisy backgrounds, lighting gradients, objects at several scales,
   positions and small rotations; and **photo crops**: crops of two photographs shipped
   with scikit-image (a cat, a cup of coffee), train crops from the left part of each
   photo, test crops from the right part. Pixels against the prior.
3. **Fit time and peak RSS** for 100, 1,000 and 5,000 classification images of
   256x256 (JPEG files, decoded during the fit), each in a fresh subprocess.
   Targets: <= 30 s CPU per 1,000 images, <= 1 GiB peak RSS at 5,000.
4. **Predict latency** per 640x480 image. Targets: classifier <= 50 ms, detector <= 300 ms.

Generated images are cached under bench/.data/ (gitignored).
"""

from __future__ import annotations

import dataclasses

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from measure import peak_mib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / ".data" / "trainer"
SHAPES = ("circle", "square", "triangle")


# --- generated scenes ------------------------------------------------------------------


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Clutter: a lighting gradient, random lines and blobs, Gaussian noise."""
    from PIL import Image, ImageDraw

    base = rng.uniform(0.25, 0.75, 3)
    img = Image.new("RGB", (w, h), tuple(int(v * 255) for v in base))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 12))):
        colour = tuple(int(v) for v in rng.integers(40, 220, 3))
        if rng.random() < 0.5:
            pts = [tuple(int(v) for v in rng.integers(0, [w, h])) for _ in range(2)]
            draw.line(pts, fill=colour, width=int(rng.integers(1, 4)))
        else:
            cx, cy = rng.integers(0, [w, h])
            r = int(rng.integers(2, max(3, min(w, h) // 14)))
            draw.ellipse([cx - r, cy - r * 0.6, cx + r, cy + r * 0.6], fill=colour)
    arr = np.asarray(img, np.float32) / 255
    gy, gx = np.mgrid[0:h, 0:w] / max(h, w)
    light = rng.uniform(0.6, 1.3) + rng.uniform(-0.4, 0.4) * gx + rng.uniform(-0.4, 0.4) * gy
    return arr * light[..., None]


def _shape(draw, kind: str, cx: float, cy: float, r: float, angle: float, colour: tuple) -> None:
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        return
    n = 4 if kind == "square" else 3
    start = (np.pi / 4 if n == 4 else -np.pi / 2) + angle
    pts = [(cx + r * np.cos(start + 2 * np.pi * k / n), cy + r * np.sin(start + 2 * np.pi * k / n)) for k in range(n)]
    draw.polygon(pts, fill=colour)


def scene(rng: np.random.Generator, h: int, w: int, objects: list[tuple[str, float]]) -> tuple[np.ndarray, list]:
    """A cluttered scene with ``(kind, radius)`` objects at free places; returns RGB uint8 and boxes."""
    from PIL import Image, ImageDraw

    bg = _background(rng, h, w)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    boxes: list = []
    for kind, r in objects:
        for _ in range(50):
            cx, cy = rng.uniform(r + 1, w - r - 1), rng.uniform(r + 1, h - r - 1)
            box = (cx - r, cy - r, 2 * r, 2 * r)
            if all(not _overlap(box, b[1]) for b in boxes):
                break
        else:
            continue
        colour = tuple(int(v) for v in rng.integers(0, 256, 3)) + (255,)
        _shape(draw, kind, cx, cy, r, rng.uniform(-0.25, 0.25), colour)
        mask = np.asarray(layer)[..., 3] > 0
        ys, xs = np.nonzero(mask & ~np.any([_box_mask(b[1], h, w) for b in boxes] or [np.zeros((h, w), bool)], axis=0))
        if len(xs):
            boxes.append((kind, (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                                 float(ys.max() - ys.min() + 1))))
    fg = np.asarray(layer, np.float32) / 255
    img = bg * (1 - fg[..., 3:]) + fg[..., :3] * fg[..., 3:] * rng.uniform(0.7, 1.2)
    img = img + rng.normal(0, rng.uniform(0.01, 0.08), img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), boxes


def _overlap(a, b, gap: float = 2) -> bool:
    return not (a[0] + a[2] + gap <= b[0] or b[0] + b[2] + gap <= a[0] or a[1] + a[3] + gap <= b[1]
                or b[1] + b[3] + gap <= a[1])


def _box_mask(b, h, w) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[int(b[1]):int(np.ceil(b[1] + b[3])), int(b[0]):int(np.ceil(b[0] + b[2]))] = True
    return m


def classification_scene(rng: np.random.Generator, side: int, label: int) -> np.ndarray:
    img, _ = scene(rng, side, side, [(SHAPES[label], rng.uniform(0.12, 0.35) * side)])
    return img


def detection_scene(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, list]:
    n = int(rng.integers(1, 4))
    objs = [(SHAPES[int(rng.integers(3))], rng.uniform(0.05, 0.16) * min(h, w)) for _ in range(n)]
    return scene(rng, h, w, objs)


def photo_crops(n_per_class: int, split: str, seed: int, side: int = 128) -> tuple[list[np.ndarray], list[int]]:
    """Crops of two photographs (cat, coffee): train from the left 55 %, test from the right 45 %."""
    import skimage.data
    from PIL import Image

    photos = [skimage.data.chelsea(), skimage.data.coffee()]
    rng = np.random.default_rng([seed, split == "test"])
    images, labels = [], []
    for i in range(2 * n_per_class):
        label = i % 2
        p = photos[label]
        h, w = p.shape[:2]
        lo, hi = (0, int(w * 0.55)) if split == "train" else (int(w * 0.55), w)
        size = int(rng.uniform(0.3, 0.6) * h)
        size = min(size, hi - lo)
        x = int(rng.integers(lo, hi - size + 1))
        y = int(rng.integers(0, h - size + 1))
        crop = Image.fromarray(p[y:y + size, x:x + size]).resize((side, side), Image.BILINEAR)
        arr = np.asarray(crop, np.float32) / 255 * rng.uniform(0.7, 1.3)
        images.append(np.clip(arr, 0, 1).astype(np.float32))
        labels.append(label)
    return images, labels


# --- measuring ---------------------------------------------------------------------------


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _as_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255


def classification_figures(train: list, ytrain: list, test: list, ytest: list, n_classes: int) -> dict:
    from reconcile.learn import metrics
    from reconcile.learn.classifier import fit_classifier

    classes = tuple(str(i) for i in range(n_classes))
    cpu = _cpu()
    model = fit_classifier(classes, ytrain, lambda i: train[i])
    fit_cpu = _cpu() - cpu
    probs = np.stack([model.predict_proba(im) for im in test])
    prior = np.bincount(ytrain, minlength=n_classes) / len(ytrain)
    s = metrics.classification_scores(probs, ytest)
    p = metrics.classification_scores(np.tile(prior, (len(ytest), 1)), ytest)
    return {"pixels_top1": s.top1, "prior_top1": p.top1, "pixels_ap": s.average_precision, "prior_ap": p.average_precision,
            "pixels_ece": s.calibration_ece, "fit_cpu_s": fit_cpu, "weights": model.group_weights()}


def detection_figures(train: list, ttrain: list, test: list, ttest: list) -> dict:
    from reconcile.learn import metrics
    from reconcile.learn.detector import TrainingImage, fit_detector

    def rel(img, boxes):
        h, w = img.shape[:2]
        return TrainingImage(np.array([[b[0] / w, b[1] / h, b[2] / w, b[3] / h] for _, b in boxes]).reshape(-1, 4),
                             np.array([SHAPES.index(k) for k, _ in boxes], int))

    truth = [rel(im, b) for im, b in zip(train, ttrain)]
    cpu = _cpu()
    model = fit_detector(SHAPES, truth, lambda i: train[i])
    fit_cpu = _cpu() - cpu
    preds, gts, prior_preds = [], [], []
    # The prior baseline: every class's mean relative box, scored by the class frequency.
    counts = np.bincount(np.concatenate([t.labels for t in truth]), minlength=3)
    mean_box = [np.concatenate([t.boxes[t.labels == c] for t in truth]).mean(axis=0) for c in range(3)]
    for im, boxes in zip(test, ttest):
        h, w = im.shape[:2]
        found = model.detect(im)
        preds.append(metrics.ImageDetections(found.boxes, found.labels, found.scores))
        gts.append(metrics.ImageDetections(np.array([b for _, b in boxes]).reshape(-1, 4),
                                           np.array([SHAPES.index(k) for k, _ in boxes], int)))
        prior_preds.append(metrics.ImageDetections(np.array([mean_box[c] * [w, h, w, h] for c in range(3)]),
                                                   np.arange(3), counts / counts.sum()))
    out = {"fit_cpu_s": fit_cpu}
    for t in (0.3, 0.5, 0.75):
        ours = metrics.detection_average_precision(preds, gts, t)
        base = metrics.detection_average_precision(prior_preds, gts, t)
        out[f"pixels_map{int(t * 100)}"] = float(np.mean(list(ours.values())))
        out[f"prior_map{int(t * 100)}"] = float(np.mean(list(base.values())))
    return out


def demo_figures() -> dict:
    """The service's metrics on data/shapes through the emulator's trainer adapter (pixels and prior)."""
    from reconcile.emulator.labeled import from_coco
    from reconcile.emulator.trainer import make_trainer

    out = {}
    for task, kind in (("classification", "imageClassification"), ("detection", "imageObjectDetection")):
        data = {}
        for split in ("train", "test"):
            doc = json.loads((ROOT / "data" / "shapes" / task / f"{split}.coco.json").read_text())
            for im in doc["images"]:
                im["coco_url"] = (ROOT / "data" / "shapes" / task / "images" / im["file_name"]).as_uri()
            # The emulator reads file:// images only inside its data roots: here, the repository.
            data[split] = dataclasses.replace(from_coco(doc, kind), file_roots=(ROOT,))
        for name in ("prior", "pixels"):
            cpu = _cpu()
            model = make_trainer(name).fit(data["train"])
            perf = model.evaluate(data["test"])
            out[(task, name)] = {k: v for k, v in perf.items() if k != "tagPerformance"}
            out[(task, name)]["cpu_s"] = _cpu() - cpu
    return out


# --- scaling (subprocesses) -----------------------------------------------------------------


def _scaling_set(n: int, side: int = 256) -> Path:
    """``n`` JPEG classification scenes (cached); returns the folder with labels.json."""
    from PIL import Image

    folder = DATA / f"cls-{side}"
    folder.mkdir(parents=True, exist_ok=True)
    labels_path = folder / "labels.json"
    labels = json.loads(labels_path.read_text()) if labels_path.exists() else []
    for i in range(len(labels), n):
        rng = np.random.default_rng([7, i])
        label = i % 3
        img = classification_scene(rng, side, label)
        Image.fromarray(img).save(folder / f"{i:05d}.jpg", quality=90)
        labels.append(label)
    labels_path.write_text(json.dumps(labels))
    return folder


def run_fit(folder: str, n: int) -> None:
    """Worker: fit a classifier on the first ``n`` images of ``folder``; print one JSON line."""
    from reconcile.learn.classifier import NEEDED_SIDE, fit_classifier
    from reconcile.learn.pixels import decode

    labels = json.loads((Path(folder) / "labels.json").read_text())[:n]
    wall, cpu = time.perf_counter(), _cpu()
    # As the emulator's trainer does: a JPEG is decoded at the scale the classifier needs.
    fit_classifier(("circle", "square", "triangle"), labels,
                   lambda i: decode((Path(folder) / f"{i:05d}.jpg").read_bytes(), at_least=NEEDED_SIDE))
    print(json.dumps({"n": n, "wall_s": time.perf_counter() - wall, "cpu_s": _cpu() - cpu, "peak_mib": peak_mib()}))


def scaling(sizes: list[int]) -> list[dict]:
    folder = _scaling_set(max(sizes))
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--fit", str(folder), str(n)], capture_output=True, text=True,
                             check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def latency() -> dict:
    """Median predict time per 640x480 image (decode + features + model), classifier and detector."""
    from PIL import Image

    from reconcile.learn.classifier import NEEDED_SIDE, fit_classifier
    from reconcile.learn.detector import TrainingImage, fit_detector
    from reconcile.learn.pixels import decode

    rng = np.random.default_rng(11)
    scenes = [detection_scene(rng, 480, 640) for _ in range(24)]
    jpegs = []
    for img, _ in scenes:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
        jpegs.append(buf.getvalue())
    train = [_as_float(img) for img, _ in scenes[:16]]
    truth = [TrainingImage(np.array([[b[0] / 640, b[1] / 480, b[2] / 640, b[3] / 480] for _, b in boxes]).reshape(-1, 4),
                           np.array([SHAPES.index(k) for k, _ in boxes], int)) for _, boxes in scenes[:16]]
    detector = fit_detector(SHAPES, truth, lambda i: train[i])
    labels = [SHAPES.index(boxes[0][0]) if boxes else 0 for _, boxes in scenes[:16]]
    classifier = fit_classifier(SHAPES, labels, lambda i: train[i])
    out = {}
    for name, fn, side in (("classifier", classifier.predict_proba, NEEDED_SIDE), ("detector", detector.detect, None)):
        cpu, wall = [], []
        for data in jpegs[16:]:
            t, c = time.perf_counter(), time.process_time()
            fn(decode(data, at_least=side))
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - t)
        out[name] = float(np.median(cpu) * 1000)
        out[name + "_wall"] = float(np.median(wall) * 1000)
    return out


# --- report ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 5,000-image scaling point")
    parser.add_argument("--fit", nargs=2, metavar=("FOLDER", "N"), help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.fit:
        run_fit(a.fit[0], int(a.fit[1]))
        return
    started = time.perf_counter()

    print("## 1. Demo data (data/shapes: 42 train / 21 test images, 64x64), service metrics")
    demo = demo_figures()
    for (task, name), perf in demo.items():
        figures = ", ".join(f"{k}={v:.3f}" for k, v in perf.items() if k != "cpu_s")
        print(f"{task:15s} {name:7s} {figures}  (fit+evaluate {perf['cpu_s']:.1f} s CPU)")
    cls_ok = demo[("classification", "pixels")]["accuracyTop1"] >= 0.9
    det_ok = demo[("detection", "pixels")]["meanAveragePrecision50"] >= 0.6
    print(f"targets: classifier accuracyTop1 >= 0.9: {'met' if cls_ok else 'MISSED'}; "
          f"detector mAP50 >= 0.6: {'met' if det_ok else 'MISSED'}")

    print("\n## 2. Harder generated scenes and photo crops (held-out images), pixels vs prior")
    rng = np.random.default_rng(2024)
    train_y = [i % 3 for i in range(150)]
    train = [_as_float(classification_scene(rng, 128, y)) for y in train_y]
    test_y = [i % 3 for i in range(150)]
    test = [_as_float(classification_scene(rng, 128, y)) for y in test_y]
    c = classification_figures(train, train_y, test, test_y, 3)
    print(f"cluttered shapes, classification (150/150, 128x128): accuracyTop1 pixels {c['pixels_top1']:.3f} vs prior "
          f"{c['prior_top1']:.3f}; averagePrecision {c['pixels_ap']:.3f} vs {c['prior_ap']:.3f}; "
          f"ECE {c['pixels_ece']:.3f}; group weights {c['weights']}")
    ptrain, py = photo_crops(60, "train", 5)
    ptest, pty = photo_crops(60, "test", 5)
    p = classification_figures(ptrain, py, ptest, pty, 2)
    print(f"photo crops cat/coffee (120/120, 128x128): accuracyTop1 pixels {p['pixels_top1']:.3f} vs prior "
          f"{p['prior_top1']:.3f}; averagePrecision {p['pixels_ap']:.3f} vs {p['prior_ap']:.3f}; "
          f"ECE {p['pixels_ece']:.3f}; group weights {p['weights']}")
    rng = np.random.default_rng(2025)
    dtrain = [detection_scene(rng, 160, 160) for _ in range(100)]
    dtest = [detection_scene(rng, 160, 160) for _ in range(50)]
    d = detection_figures([_as_float(i) for i, _ in dtrain], [b for _, b in dtrain],
                          [_as_float(i) for i, _ in dtest], [b for _, b in dtest])
    print(f"cluttered shapes, detection (100/50, 160x160, 1-3 objects): mAP30/50/75 pixels "
          f"{d['pixels_map30']:.3f}/{d['pixels_map50']:.3f}/{d['pixels_map75']:.3f} vs prior "
          f"{d['prior_map30']:.3f}/{d['prior_map50']:.3f}/{d['prior_map75']:.3f}; "
          f"fit {d['fit_cpu_s'] / len(dtrain) * 100:.1f} s CPU per 100 images")

    print("\n## 3. Classifier fit time and peak RSS (256x256 JPEG scenes, fresh subprocess each)")
    sizes = [100, 1000] if a.quick else [100, 1000, 5000]
    rows = scaling(sizes)
    for r in rows:
        print(f"{r['n']:5d} images: {r['wall_s']:6.1f} s wall, {r['cpu_s']:6.1f} s CPU "
              f"({r['cpu_s'] / r['n'] * 100:.2f} s CPU per 100 images), peak RSS {r['peak_mib']:.0f} MiB")
    for a_, b_ in zip(rows, rows[1:]):
        growth = np.log(b_["cpu_s"] / a_["cpu_s"]) / np.log(b_["n"] / a_["n"])
        print(f"fit CPU grows as n^{growth:.2f} from {a_['n']} to {b_['n']} images "
              "(the 100-image point carries the fixed cost: imports, cross-validation set-up)")
    per_1000 = [r["cpu_s"] / r["n"] * 1000 for r in rows if r["n"] >= 1000]
    print(f"target <= 30 s CPU per 1,000 images: {'met' if all(x <= 30 for x in per_1000) else 'MISSED'} "
          f"({', '.join(f'{x:.1f}' for x in per_1000)} s)")
    if not a.quick:
        print(f"target peak RSS <= 1 GiB at 5,000: {'met' if rows[-1]['peak_mib'] <= 1024 else 'MISSED'}")

    print("\n## 4. Predict latency per 640x480 JPEG (decode included, median of 8; CPU time, wall in brackets)")
    lat = latency()
    print(f"classifier {lat['classifier']:.1f} ms [{lat['classifier_wall']:.1f}] "
          f"(target <= 50: {'met' if lat['classifier'] <= 50 else 'MISSED'}); "
          f"detector {lat['detector']:.1f} ms [{lat['detector_wall']:.1f}] "
          f"(target <= 300: {'met' if lat['detector'] <= 300 else 'MISSED'})")
    print(f"machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\n(total bench time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
