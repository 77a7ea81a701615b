"""``ipr pretrain``: the project's own starting point — one backbone trained with the integral and the direct head.

Example (the run that produced the shipped ``synthmocap-small`` model; configs/synthmocap/README.md)::

    ipr pretrain --config configs/synthmocap/r18w25_64_int16_l1_synth_pretrain.yaml --steps 14000
"""

from __future__ import annotations

import argparse
from pathlib import Path

from integral_pose.config.io import load_config
from integral_pose.data.sources.synthmocap import generate_synthmocap
from integral_pose.engine.pretrain import pretrain
from integral_pose.errors import CliError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr pretrain``."""
    p = sub.add_parser(
        "pretrain",
        help="pretrain a backbone on on-the-fly SynthMocap with the integral and direct heads jointly",
        description="Train one backbone with both heads attached (loss = integral L1 + direct L1) on SynthMocap "
        "rendered on the fly; score both heads on the fixed test split every --eval-every steps; write "
        "integral.pt, direct.pt, model_fp16.pt and curves.json into the run folder.",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="the integral model's YAML recipe")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted config overrides")
    p.add_argument("--steps", type=int, required=True, help="optimiser steps")
    p.add_argument("--eval-every", type=int, default=500, help="steps between test evaluations (default 500)")
    p.add_argument("--decay-fraction", type=float, default=0.1,
                   help="last share of the steps run at the decayed rate (default 0.1)")  # fmt: skip
    p.add_argument("--test-frames", type=int, default=400, help="fixed test images to render (default 400)")
    p.add_argument("--out-dir", default=None, help="run folder (default: train.out_dir of the recipe)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's state.pt")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the fixed test split if needed, then pretrain."""
    for name in ("steps", "eval_every", "test_frames"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name.replace('_', '-')}: expected an int >= 1, got {getattr(args, name)}")
    if not 0.0 <= args.decay_fraction < 1.0:
        raise CliError(f"--decay-fraction: expected a fraction in [0, 1), got {args.decay_fraction}")
    cfg = load_config(args.config)
    out = Path(args.out_dir or cfg.train.out_dir)
    data = generate_synthmocap(out / "synthmocap_test", frames_train=1, frames_test=args.test_frames, size=192,
                               seed=0, workers=1, progress=not args.quiet)  # fmt: skip
    overrides = [f"data.test=[{{kind: synthmocap, records: '{data['test']}'}}]", *args.overrides]
    cfg = load_config(args.config, overrides)
    summary = pretrain(cfg, out, steps=args.steps, eval_every=args.eval_every, decay_fraction=args.decay_fraction,
                       resume=args.resume, quiet=args.quiet)  # fmt: skip
    final = summary["final"]
    print(f"pretrained {summary['steps']} steps in {summary['wall_s'] / 60:.1f} min "
          f"({summary['images_per_s']:.0f} img/s); test MPJPE integral {final.get('integral_mpjpe', float('nan')):.1f}"
          f" mm, direct {final.get('direct_mpjpe', float('nan')):.1f} mm; files in {out}")  # fmt: skip
    return 0
