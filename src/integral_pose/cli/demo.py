"""``ipr demo``: the paper's central ablation on the embedded data, end to end on a CPU in about five minutes.

1. Renders SynthMocap (real mocap through real Human3.6M cameras) unless it is already there.
2. Trains the integral model and the direct-regression baseline with the same backbone, input, data, schedule
   and number of updates (``configs/synthmocap/r18_64_int16_l1_synth_demo.yaml`` and
   ``…_dir_l1_synth_demo.yaml``).
3. Evaluates both on the held-out split (unseen motions and unseen cameras), prints one comparison table and
   writes ``eval.json`` + ``report.png`` per model and ``comparison.png`` into the output folder.

Runs are resumable: re-running the demo continues unfinished training and re-evaluates finished models.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DEMO_RECIPES = ("r18_64_int16_l1_synth_demo.yaml", "r18_64_dir_l1_synth_demo.yaml")
"""The two recipes compared, in ``configs/synthmocap/``."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr demo``."""
    p = sub.add_parser(
        "demo",
        help="render SynthMocap, train integral vs direct regression, evaluate both, print the comparison",
        description="The paper's ablation (integral regression vs direct regression) on the bundled SynthMocap "
        "data, sized for a laptop CPU. Everything goes under --out.",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    p.add_argument("--frames", type=int, default=None, help="train images to render (default: the recipe's)")
    p.add_argument("--test-frames", type=int, default=None, help="test images to render (default: the recipe's)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override train.epochs of both recipes (the last epoch runs at the decayed rate)")  # fmt: skip
    p.add_argument("--configs", default=None, help="folder holding the demo recipes (default: configs/synthmocap)")
    p.add_argument("--workers", type=int, default=2, help="processes for rendering (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


# Rendering parameters of the demo data (kept here: they are not part of the training config schema).
DEMO_FRAMES = 2400
DEMO_TEST_FRAMES = 400
DEMO_IMAGE_SIZE = 192


def find_recipe_dir(explicit: str | None = None) -> Path:
    """The folder with the demo recipes: ``explicit``, else ``configs/synthmocap`` of the source tree or cwd."""
    from integral_pose.cli.main import CliError

    candidates = [Path(explicit)] if explicit else [
        Path(__file__).resolve().parents[3] / "configs" / "synthmocap",
        Path.cwd() / "configs" / "synthmocap",
    ]  # fmt: skip
    for c in candidates:
        if all((c / name).is_file() for name in DEMO_RECIPES):
            return c
    raise CliError(
        f"demo recipes {list(DEMO_RECIPES)} not found in {[str(c) for c in candidates]}; run from the project "
        "folder or pass --configs"
    )


def mean_pose_baseline(train_records: str | Path, test_records: str | Path) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm) of always predicting the mean root-relative training pose (the image-free prior).

    A model that has learned nothing from the images scores about this; it puts the demo's numbers in context.
    """
    import numpy as np

    from integral_pose.data.records import load_records
    from integral_pose.eval.metrics import joint_errors

    tr, te = load_records(train_records), load_records(test_records)
    a = tr.joints_3d_cam[:, :17].astype(np.float64)
    b = te.joints_3d_cam[:, :17].astype(np.float64)
    a, b = a[np.isfinite(a).all(axis=(1, 2))], b[np.isfinite(b).all(axis=(1, 2))]
    mean = (a - a[:, :1]).mean(0)
    pred = np.broadcast_to(mean, b.shape) + b[:, :1]
    return {
        "mpjpe": float(joint_errors(pred, b, "root").mean()),
        "pa_mpjpe": float(joint_errors(pred, b, "procrustes").mean()),
    }


def run(args: argparse.Namespace) -> int:
    """Render (if needed), train both models, evaluate, print the comparison table."""
    from integral_pose.cli.main import CliError
    from integral_pose.config.io import load_config
    from integral_pose.data.sources.synthmocap import generate_synthmocap
    from integral_pose.engine.evaluator import evaluate, write_json_atomic
    from integral_pose.engine.trainer import train
    from integral_pose.viz.report import write_comparison_report

    for name in ("frames", "test_frames", "epochs", "workers"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise CliError(f"--{name.replace('_', '-')}: expected an int >= 1, got {v}")
    t0 = time.perf_counter()
    out = Path(args.out)
    recipes = find_recipe_dir(args.configs)
    frames = args.frames or DEMO_FRAMES
    test_frames = args.test_frames or DEMO_TEST_FRAMES
    data_dir = out / f"synthmocap_{frames}_{test_frames}_{DEMO_IMAGE_SIZE}px"
    print(f"[1/3] SynthMocap: {frames} train + {test_frames} test images in {data_dir}", flush=True)
    paths = generate_synthmocap(
        data_dir, frames_train=frames, frames_test=test_frames, size=DEMO_IMAGE_SIZE, seed=0,
        workers=args.workers, progress=not args.quiet,
    )  # fmt: skip
    t_data = time.perf_counter() - t0

    results, timings = {}, {}
    for recipe in DEMO_RECIPES:
        overrides = [
            f"data.train=[{{kind: synthmocap, records: '{paths['train']}'}}]",
            f"data.test=[{{kind: synthmocap, records: '{paths['test']}'}}]",
            "data.val=[]",
            "train.val_every=0",
            f"train.out_dir='{out / Path(recipe).stem}'",
        ]
        if args.epochs is not None:  # keep the recipes' shape: the last epoch runs at the decayed rate
            overrides += [f"train.epochs={args.epochs}", f"optim.milestones=[{args.epochs}]"]
        cfg = load_config(recipes / recipe, overrides)
        label = "integral regression" if cfg.model.arch == "integral" else "direct regression"
        print(f"[2/3] training {label} ({recipe}): {cfg.model.backbone}, {cfg.data.patch_width}×"
              f"{cfg.data.patch_height} input, {cfg.train.epochs} epochs", flush=True)  # fmt: skip
        t1 = time.perf_counter()
        result = train(cfg, resume="auto", quiet=args.quiet)
        timings[label] = {"train_s": time.perf_counter() - t1, "images_per_s": result.images_per_s}
        ckpt = Path(result.run_dir) / "checkpoints" / "last.pt"
        t2 = time.perf_counter()
        res = evaluate(cfg, [ckpt], Path(result.run_dir) / "eval", split="test", device="cpu",
                       title=label)  # fmt: skip
        timings[label]["eval_s"] = time.perf_counter() - t2
        results[label] = res
        print(f"      {label}: MPJPE {res['mpjpe']:.1f} mm, PA-MPJPE {res['pa_mpjpe']:.1f} mm "
              f"({res['num_samples']} test images, flip test {'on' if res['flip_test'] else 'off'})",
              flush=True)  # fmt: skip

    print("[3/3] comparison on the held-out split (unseen motions, unseen cameras; GT root depth)")
    prior = mean_pose_baseline(paths["train"], paths["test"])
    rows = [("model", "MPJPE (mm)", "PA-MPJPE (mm)", "train img/s")]
    for label, res in results.items():
        rows.append((label, f"{res['mpjpe']:.1f}", f"{res['pa_mpjpe']:.1f}", f"{timings[label]['images_per_s']:.1f}"))
    rows.append(("mean training pose (no image)", f"{prior['mpjpe']:.1f}", f"{prior['pa_mpjpe']:.1f}", "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  " + " | ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  " + "-+-".join("-" * w for w in widths))
    labels = list(results)
    if len(labels) == 2:
        a, b = (results[x]["mpjpe"] for x in labels)
        verdict = "lower" if a < b else "higher"
        print(f"  {labels[0]} MPJPE is {abs(100 * (1 - a / b)):.0f} % {verdict} than {labels[1]}'s")
    comparison = write_comparison_report(out / "comparison.png", results,
                                         title="integral vs direct regression on SynthMocap (test split)")  # fmt: skip
    wall = time.perf_counter() - t0
    summary = {
        "wall_s": wall,
        "data_s": t_data,
        "data": {"train": str(paths["train"]), "test": str(paths["test"])},
        "mean_pose_baseline": prior,
        "models": {
            label: {"mpjpe": r["mpjpe"], "pa_mpjpe": r["pa_mpjpe"], "n_mpjpe": r["n_mpjpe"], **timings[label]}
            for label, r in results.items()
        },
    }
    write_json_atomic(out / "summary.json", summary)
    print(f"wrote {comparison}, per-model eval.json + report.png under {out}; total {wall:.0f} s")
    return 0
