"""``ipr demo``: the paper's ablation — integral regression vs direct regression vs heat-map argmax — on a CPU.

1. Renders SynthMocap (real mocap through real Human3.6M cameras) unless it is already there.
2. Trains the three models of ``configs/synthmocap/r18w25_64_*_synth_demo.yaml`` from the **same start** (the
   shipped ``synthmocap-small`` backbone, or random weights with ``--start scratch``), with the same data,
   augmentation, schedule and number of updates; each is scored on the held-out split after every curve point.
3. Evaluates each with flip test on the held-out split (unseen motions and an unseen camera), prints one table
   beside the image-free mean-pose row, and writes ``learning_curves.png``, ``overlays.png`` (predictions on
   held-out images), ``comparison.png``, ``summary.json`` and per-model ``eval.json`` + ``report.png``.

Runs are resumable: re-running the demo continues unfinished training and re-evaluates finished models.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from integral_pose.build import build_eval_dataset
from integral_pose.config.io import load_config
from integral_pose.config.schema import Config
from integral_pose.data.codec import crop_transform, warp_patch
from integral_pose.data.records import load_records
from integral_pose.data.sources.synthmocap import generate_synthmocap
from integral_pose.engine.checkpoint import model_from_checkpoint
from integral_pose.engine.eval_predict import predict
from integral_pose.engine.evaluator import evaluate, write_json_atomic
from integral_pose.engine.trainer import train
from integral_pose.errors import CliError
from integral_pose.eval.metrics import joint_errors
from integral_pose.geometry.affine import apply_affine
from integral_pose.models.zoo import MODELS, resolve_model_file
from integral_pose.skeletons import get_skeleton
from integral_pose.viz.report import write_comparison_report, write_learning_curves, write_prediction_overlays

DEMO_RECIPES: tuple[tuple[str, str], ...] = (
    ("integral", "r18w25_64_int16_l1_synth_demo.yaml"),
    ("direct", "r18w25_64_dir_l1_synth_demo.yaml"),
    ("heatmap", "r18w25_64_hm16_mse_synth_demo.yaml"),
)
"""The compared recipes (arch, file in ``configs/synthmocap/``)."""

LABELS = {"integral": "integral regression", "direct": "direct regression", "heatmap": "heat-map argmax"}

# Rendering and schedule of the demo (kept here: they are not part of the training config schema).
DEMO_FRAMES = 3000
DEMO_TEST_FRAMES = 400
DEMO_IMAGE_SIZE = 192
DEMO_UPDATES = 1200
DEMO_CURVE_POINTS = 6
DEFAULT_START = "synthmocap-small"
# Rough costs for the first ETA (2 idle cores), replaced by measurements as stages finish.
_NOMINAL_RENDER_S_PER_IMAGE = 0.009
_NOMINAL_UPDATES_PER_S = 7.0
_NOMINAL_EVAL_S = 12.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr demo``."""
    p = sub.add_parser(
        "demo",
        help="render SynthMocap; train integral, direct and heat-map models from one start; compare them",
        description="The paper's ablation (integral regression vs direct regression vs heat-map argmax) on the "
        "bundled SynthMocap data, sized for a laptop CPU. Everything goes under --out.",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    p.add_argument("--frames", type=int, default=None, help=f"train images to render (default {DEMO_FRAMES})")
    p.add_argument("--test-frames", type=int, default=None,
                   help=f"held-out images to render (default {DEMO_TEST_FRAMES})")  # fmt: skip
    p.add_argument("--updates", type=int, default=DEMO_UPDATES,
                   help=f"optimiser updates per model (default {DEMO_UPDATES}; the last curve point's share runs at "
                   "the decayed rate)")  # fmt: skip
    p.add_argument("--curve-points", type=int, default=DEMO_CURVE_POINTS,
                   help=f"held-out evaluations along each training (default {DEMO_CURVE_POINTS})")  # fmt: skip
    p.add_argument("--seeds", type=int, default=1,
                   help="training seeds per model (default 1; the table shows the spread)")  # fmt: skip
    p.add_argument("--start", default=DEFAULT_START,
                   help="starting weights of every backbone: a shipped model name, a weights file, or 'scratch' "
                   f"for random initialisation (default {DEFAULT_START})")  # fmt: skip
    p.add_argument("--models", default="integral,direct,heatmap",
                   help="comma-separated subset of integral,direct,heatmap (default: all three)")  # fmt: skip
    p.add_argument("--configs", default=None, help="folder holding the demo recipes (default: configs/synthmocap)")
    p.add_argument("--workers", type=int, default=2, help="processes for rendering (default 2)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: idle cores minus the loader worker, at least 1)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def find_recipe_dir(explicit: str | None = None) -> Path:
    """The folder with the demo recipes: ``explicit``, else ``configs/synthmocap`` of the source tree or cwd."""
    candidates = [Path(explicit)] if explicit else [
        Path(__file__).resolve().parents[3] / "configs" / "synthmocap",
        Path.cwd() / "configs" / "synthmocap",
    ]  # fmt: skip
    for c in candidates:
        if all((c / name).is_file() for _, name in DEMO_RECIPES):
            return c
    raise CliError(
        f"demo recipes {[n for _, n in DEMO_RECIPES]} not found in {[str(c) for c in candidates]}; run from the "
        "project folder or pass --configs"
    )


def busy_cores(seconds: float = 0.5) -> float:
    """How many cores other processes keep busy now: sampled from ``/proc/stat`` over ``seconds``.

    Falls back to the 1-minute load average where ``/proc/stat`` does not exist (which lags: a job that just
    ended still counts for a minute).
    """

    def sample() -> tuple[float, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                fields = [float(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
        return idle, sum(fields)

    a = sample()
    time.sleep(seconds)
    b = sample()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if a is None or b is None or b[1] <= a[1]:
        try:
            return float(os.getloadavg()[0])
        except OSError:
            return 0.0
    return cores * (1.0 - (b[0] - a[0]) / (b[1] - a[1]))


def default_threads(busy: float | None = None, loader_workers: int = 1) -> int:
    """Torch threads for a demo training: the cores other processes leave idle (:func:`busy_cores`) minus one per
    data-loader worker, at least 1.

    Compute threads that share a core with another process (the loader worker included) run many times slower
    than fewer threads (they wait for each other at every operation): on 2 idle cores, 1 thread + 1 loader
    worker trained the demo's direct model at 480 img/s, 2 threads + 1 worker at 290 img/s.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    used = busy_cores() if busy is None else busy
    return max(1, min(cores, cores - math.ceil(used - 0.5) - loader_workers))


def mean_pose_baseline(train_records: str | Path, test_records: str | Path) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm) of always predicting the mean root-relative training pose (the image-free prior).

    A model that has learned nothing from the images scores about this; it puts the demo's numbers in context.
    """
    tr, te = load_records(train_records), load_records(test_records)
    a = tr.joints_3d_cam[:, :17].astype(np.float64)
    b = te.joints_3d_cam[:, :17].astype(np.float64)
    a, b = a[np.isfinite(a).all(axis=(1, 2))], b[np.isfinite(b).all(axis=(1, 2))]
    mean = (a - a[:, :1]).mean(0)
    pred = np.broadcast_to(mean, b.shape) + b[:, :1]
    axis = np.abs(pred - b).mean(axis=(0, 1))
    return {
        "mpjpe": float(joint_errors(pred, b, "root").mean()),
        "pa_mpjpe": float(joint_errors(pred, b, "procrustes").mean()),
        "axis_error": {"x": float(axis[0]), "y": float(axis[1]), "z": float(axis[2])},
    }


def learning_curve(metrics_file: Path) -> dict[str, list[float]]:
    """``{"steps", "error"}``: the held-out MPJPE of every epoch record of a run's ``metrics.jsonl``.

    Read from the log rather than from the training call, so a run finished by an earlier ``ipr demo`` keeps its
    curve (the log is trimmed on resume, so each epoch appears once).
    """
    steps: list[float] = []
    error: list[float] = []
    for line in metrics_file.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("kind") == "epoch" and "val_mpjpe" in rec:
            steps.append(int(rec["step"]))
            error.append(float(rec["val_mpjpe"]))
    return {"steps": steps, "error": error}


def _fmt_s(seconds: float) -> str:
    m, s = divmod(max(0, round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


class _Eta:
    """Whole-demo ETA from nominal costs, replaced by measured ones as stages finish."""

    def __init__(self, render_s: float, trainings: list[tuple[str, int]], eval_s: float) -> None:
        self.render_s = render_s
        self.pending = list(trainings)
        self.eval_s = eval_s
        self.measured: dict[str, float] = {}  # arch → seconds per update (training + curve points)
        self.t0 = time.perf_counter()

    def remaining(self) -> float:
        rest = self.render_s
        for arch, updates in self.pending:
            rate = self.measured.get(arch) or (np.mean(list(self.measured.values())) if self.measured else None)
            rest += updates * (rate if rate else 1.0 / _NOMINAL_UPDATES_PER_S) + self.eval_s
        return rest

    def line(self) -> str:
        return f"elapsed {_fmt_s(time.perf_counter() - self.t0)}, whole demo ETA ~{_fmt_s(self.remaining())}"


def _overlay_samples(test_records: Path, count: int) -> list[int]:
    """Evenly spaced held-out sample indices for the overlay figure."""
    n = len(load_records(test_records))
    return sorted({int(i) for i in np.linspace(0, n - 1, min(count, n))})


def _overlays(out: Path, runs: dict[str, dict[str, Any]], test_records: Path, count: int = 8) -> Path | None:
    """Draw each model's (seed 0) 2D predictions on the same held-out images; ``None`` without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        return None
    idx = _overlay_samples(test_records, count)
    recs = load_records(test_records)
    crops, maps = [], []
    for i in idx:
        img = cv2.cvtColor(cv2.imread(str(recs.image_file(i)), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        a, _ = crop_transform(recs.box[i], (128, 128), float(recs.image_size[i, 0]), 1.15)
        crops.append(warp_patch(img, a, (128, 128)))
        maps.append(a)
    preds: dict[str, np.ndarray] = {}
    gt = None
    for label, run in runs.items():
        cfg = run["cfg"]
        model, _ = model_from_checkpoint(run["checkpoint"])
        subset = torch.utils.data.Subset(build_eval_dataset(cfg, "test"), idx)
        pred = predict([model], subset, cfg, flip_test=cfg.eval.flip_test, batch_size=len(idx), num_workers=0)
        preds[label] = np.stack([apply_affine(pred["uv"][k], maps[k]) for k in range(len(idx))])
        gt = np.stack([apply_affine(pred["joints_2d"][k], maps[k]) for k in range(len(idx))])
    sk = get_skeleton("h36m18")
    title = "held-out images (unseen motions, unseen camera), 2D predictions"
    return write_prediction_overlays(out / "overlays.png", crops, preds, sk.edges, sk.joint_names, gt, title=title)


def _parse_models(text: str) -> list[tuple[str, str]]:

    wanted = [m.strip() for m in text.split(",") if m.strip()]
    known = [a for a, _ in DEMO_RECIPES]
    bad = [m for m in wanted if m not in known]
    if bad or not wanted:
        raise CliError(f"--models: expected a comma-separated subset of {known}, got {text!r}")
    return [(a, f) for a, f in DEMO_RECIPES if a in wanted]


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  " + " | ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            lines.append("  " + "-+-".join("-" * w for w in widths))
    return lines


def _axes(axis: dict[str, float]) -> str:
    return " / ".join(f"{axis[k]:.0f}" for k in "xyz")


def _spread(values: list[float]) -> str:
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ({min(values):.1f}–{max(values):.1f})"


def _checked_start(args: argparse.Namespace) -> str | None:
    """Check the numeric options and ``--start``; returns the start weights (None: from scratch)."""
    for name in ("frames", "test_frames", "updates", "curve_points", "seeds", "workers", "threads"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise CliError(f"--{name.replace('_', '-')}: expected an int >= 1, got {v}")
    if args.curve_points > args.updates:
        raise CliError(f"--curve-points ({args.curve_points}) cannot exceed --updates ({args.updates})")
    start: str | None = None if args.start == "scratch" else args.start
    if start is not None:
        try:
            resolve_model_file(start)
        except FileNotFoundError as exc:
            raise CliError(f"--start: {exc}") from None
        if start not in MODELS and not Path(start).is_file():
            raise CliError(f"--start: expected 'scratch', one of {list(MODELS)} or a weights file, got {start!r}")
    return start


def _demo_overrides(paths: dict[str, Path], run_dir: Path, seed: int, curve_points: int, per_epoch: int,
                    start: str | None) -> list[str]:  # fmt: skip
    """The overrides that turn a shipped recipe into one demo training on the rendered split."""
    return [
        f"data.train=[{{kind: synthmocap, records: '{paths['train']}'}}]",
        f"data.test=[{{kind: synthmocap, records: '{paths['test']}'}}]",
        f"data.val=[{{kind: synthmocap, records: '{paths['test']}'}}]",
        "train.val_every=1",
        f"train.seed={seed}",
        f"train.epochs={curve_points}",
        f"train.checkpoint_every={curve_points}",
        f"optim.milestones=[{curve_points}]",
        f"data.epoch_length={{rule: fixed, num_samples: {per_epoch * 32}}}",
        "train.batch_size=32",
        f"train.out_dir='{run_dir}'",
        f"model.pretrained={'null' if start is None else repr(start)}",
    ]


def _train_and_score(cfg: Config, label: str, seed: int, quiet: bool) -> dict[str, Any]:
    """Train one demo model (resuming a finished run is a no-op), score it on the held-out split, print a line."""
    t1 = time.perf_counter()
    result = train(cfg, resume="auto", quiet=quiet)
    train_s = time.perf_counter() - t1
    ckpt = Path(result.run_dir) / "checkpoints" / "last.pt"
    t2 = time.perf_counter()
    res = evaluate(cfg, [ckpt], Path(result.run_dir) / "eval", split="test", device="cpu",
                   title=f"{label}, seed {seed}")  # fmt: skip
    eval_s = time.perf_counter() - t2
    curve = learning_curve(Path(result.run_dir) / "metrics.jsonl")
    print(f"      {label}: MPJPE {res['mpjpe']:.1f} mm, PA-MPJPE {res['pa_mpjpe']:.1f} mm "
          f"({res['num_samples']} held-out images, flip test {'on' if res['flip_test'] else 'off'}); "
          f"train {train_s:.0f} s, eval {eval_s:.0f} s", flush=True)  # fmt: skip
    return {"cfg": cfg, "checkpoint": ckpt, "result": res, "curve": curve, "train_s": train_s, "eval_s": eval_s,
            "images_per_s": result.images_per_s}  # fmt: skip


def _comparison(runs: dict[str, dict[int, dict[str, Any]]], prior: dict[str, Any], updates: int
                ) -> tuple[list[tuple[str, ...]], dict[str, Any]]:  # fmt: skip
    """The comparison table's rows (header first, mean pose last) and the per-model summary."""
    rows: list[tuple[str, ...]] = [
        ("model", "MPJPE (mm)", "PA-MPJPE (mm)", "× mean pose", "x / y / z error (mm)", "updates", "train img/s")
    ]
    summary_models: dict[str, Any] = {}
    for label, by_seed in runs.items():
        mp = [r["result"]["mpjpe"] for r in by_seed.values()]
        pa = [r["result"]["pa_mpjpe"] for r in by_seed.values()]
        rates = [r["images_per_s"] for r in by_seed.values() if np.isfinite(r["images_per_s"])]
        ips = float(np.mean(rates)) if rates else float("nan")  # nan: every run was finished before this call
        axis = {k: float(np.mean([r["result"]["axis_error"][k] for r in by_seed.values()])) for k in "xyz"}
        rows.append((label, _spread(mp), _spread(pa), f"{np.mean(mp) / prior['mpjpe']:.2f}", _axes(axis), str(updates),
                     f"{ips:.0f}"))  # fmt: skip
        summary_models[label] = {
            "mpjpe": mp, "pa_mpjpe": pa, "mpjpe_mean": float(np.mean(mp)), "pa_mpjpe_mean": float(np.mean(pa)),
            "ratio_to_mean_pose": float(np.mean(mp) / prior["mpjpe"]), "images_per_s": ips, "axis_error": axis,
            "curves": [r["curve"] for r in by_seed.values()],
            "train_s": [r["train_s"] for r in by_seed.values()], "eval_s": [r["eval_s"] for r in by_seed.values()],
        }  # fmt: skip
    rows.append(("mean training pose (no image)", f"{prior['mpjpe']:.1f}", f"{prior['pa_mpjpe']:.1f}", "1.00",
                 _axes(prior["axis_error"]), "-", "-"))  # fmt: skip
    return rows, summary_models


def _write_figures(out: Path, runs: dict[str, dict[int, dict[str, Any]]], prior: dict[str, Any], seed0: int,
                   start_text: str, test_records: Path) -> list[Path]:  # fmt: skip
    """Learning curves (all seeds), the comparison report and the overlays (first seed)."""
    figures = [write_learning_curves(
        out / "learning_curves.png", {k: [r["curve"] for r in v.values()] for k, v in runs.items()},
        baseline=prior["mpjpe"], title=f"held-out MPJPE during training (no flip test), start: {start_text}",
    )]  # fmt: skip
    first = {label: by_seed[seed0] for label, by_seed in runs.items()}
    figures.append(write_comparison_report(out / "comparison.png", {k: v["result"] for k, v in first.items()},
                                           title=f"held-out split, seed {seed0}"))  # fmt: skip
    overlay = _overlays(out, first, test_records)
    if overlay is not None:
        figures.append(overlay)
    return figures


def run(args: argparse.Namespace) -> int:
    """Render (if needed), train the models, evaluate, print the comparison table and write the figures."""
    start = _checked_start(args)
    models = _parse_models(args.models)
    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    out = Path(args.out)
    recipes = find_recipe_dir(args.configs)
    frames = args.frames or DEMO_FRAMES
    test_frames = args.test_frames or DEMO_TEST_FRAMES
    seeds = list(range(args.seeds))
    per_epoch = max(1, args.updates // args.curve_points)
    updates = per_epoch * args.curve_points
    trainings = [(arch, seed) for seed in seeds for arch, _ in models]
    n_stages = 2 + len(trainings)
    eta = _Eta((frames + test_frames) * _NOMINAL_RENDER_S_PER_IMAGE / max(args.workers, 1),
               [(a, updates) for a, _ in trainings], _NOMINAL_EVAL_S)  # fmt: skip
    start_text = "random weights" if start is None else f"the {start} backbone"
    print(f"ipr demo: {len(models)} models × {len(seeds)} seed(s), {updates} updates each from {start_text}; "
          f"{threads} torch thread(s); {eta.line()}", flush=True)  # fmt: skip

    data_dir = out / f"synthmocap_{frames}_{test_frames}_{DEMO_IMAGE_SIZE}px"
    print(f"[1/{n_stages}] render SynthMocap: {frames} train + {test_frames} held-out images in {data_dir}", flush=True)
    t_data0 = time.perf_counter()
    paths = generate_synthmocap(
        data_dir, frames_train=frames, frames_test=test_frames, size=DEMO_IMAGE_SIZE, seed=0,
        workers=args.workers, progress=not args.quiet,
    )  # fmt: skip
    t_data = time.perf_counter() - t_data0
    eta.render_s = 0.0

    runs: dict[str, dict[int, dict[str, Any]]] = {LABELS[a]: {} for a, _ in models}
    for stage, (arch, seed) in enumerate(trainings, start=2):
        recipe = dict(models)[arch]
        run_dir = out / f"seed{seed}" / Path(recipe).stem
        cfg = load_config(recipes / recipe, _demo_overrides(paths, run_dir, seed, args.curve_points, per_epoch, start))
        print(f"[{stage}/{n_stages}] train {LABELS[arch]} (seed {seed}, {recipe}): {updates} updates; {eta.line()}",
              flush=True)  # fmt: skip
        done = _train_and_score(cfg, LABELS[arch], seed, args.quiet)
        eta.pending.remove((arch, updates))
        if done["train_s"] > 0.02 * updates:  # trained here (not just a finished run found on resume)
            eta.measured[arch] = done["train_s"] / updates
        eta.eval_s = done["eval_s"]
        runs[LABELS[arch]][seed] = done

    print(f"[{n_stages}/{n_stages}] comparison on the held-out split (unseen motions, unseen camera; GT root depth)")
    prior = mean_pose_baseline(paths["train"], paths["test"])
    rows, summary_models = _comparison(runs, prior, updates)
    for line in _table(rows):
        print(line)
    if len(seeds) > 1:
        print(f"  (mean over {len(seeds)} seeds; min–max in brackets)")
    order = sorted(summary_models, key=lambda k: summary_models[k]["mpjpe_mean"])
    print("  ordering by MPJPE (lower is better): " + " < ".join(order))
    figures = _write_figures(out, runs, prior, seeds[0], start_text, Path(paths["test"]))
    wall = time.perf_counter() - eta.t0
    summary = {
        "wall_s": wall,
        "data_s": t_data,
        "threads": threads,
        "start": start or "scratch",
        "updates": updates,
        "seeds": seeds,
        "data": {"train": str(paths["train"]), "test": str(paths["test"])},
        "mean_pose_baseline": prior,
        "ordering": order,
        "models": summary_models,
    }
    write_json_atomic(out / "summary.json", summary)
    print(f"wrote {', '.join(str(f) for f in figures)}, summary.json, per-model eval.json + report.png under {out}; "
          f"total {wall:.0f} s")  # fmt: skip
    return 0
