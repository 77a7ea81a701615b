"""``ipr train``: train a model from a YAML recipe (single process, or one process per GPU/CPU under torchrun).

Examples::

    ipr train --config configs/synthmocap/integral_r18_128.yaml
    ipr train --config recipe.yaml optim.lr=1e-4 train.epochs=10 --resume auto
    torchrun --nproc_per_node=4 -m integral_pose.cli.main train --config recipe.yaml
"""

from __future__ import annotations

import argparse
import os
import sys

from integral_pose.config.io import load_config
from integral_pose.engine.trainer import BadImageError, NonFiniteLossError, TrainResult, train
from integral_pose.errors import CliError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr train``."""
    p = sub.add_parser(
        "train",
        help="train a model from a YAML recipe (DDP under torchrun)",
        description="Train a model. The recipe is validated before anything runs; KEY=VALUE overrides use dotted "
        "keys (optim.lr=1e-4). Launch with torchrun for data-parallel training; train.batch_size is global.",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="YAML recipe")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted config overrides")
    p.add_argument(
        "--resume",
        metavar="auto|PATH",
        default=None,
        help="'auto': continue from the last good checkpoint of the run folder (fresh start if none); "
        "PATH: continue from that checkpoint",
    )
    p.add_argument(
        "--fast-dev-run",
        type=int,
        default=0,
        metavar="N",
        help="run N training steps and one validation batch, write nothing (a smoke test of the recipe)",
    )
    p.add_argument("--out-dir", default=None, help="run folder (default: train.out_dir of the recipe)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the config, train, print a summary; exit code 0, 1 (guard rail stopped the run) or 2 (bad input)."""
    if args.fast_dev_run < 0:
        raise CliError(f"--fast-dev-run: expected an int >= 0, got {args.fast_dev_run}")
    cfg = load_config(args.config, args.overrides)
    try:
        result = train(cfg, resume=args.resume, fast_dev_run=args.fast_dev_run, run_dir=args.out_dir, quiet=args.quiet)
    except (NonFiniteLossError, BadImageError) as exc:
        print(f"ipr train: stopped: {exc}", file=sys.stderr)
        return 1
    except FileExistsError as exc:
        raise CliError(str(exc)) from None
    if not args.quiet and os.environ.get("RANK", "0") == "0":
        print(summary(result, dry=bool(args.fast_dev_run)))
    return 0


def summary(result: TrainResult, dry: bool = False) -> str:
    """The closing line of ``ipr train``: what this call trained, or that the run had already finished."""
    where = "(dry run, nothing written)" if dry else f"run folder {result.run_dir}"
    if result.already_complete:
        return (
            f"run already complete: {result.epochs} epoch(s), {result.steps} steps in {result.resumed_from}; "
            f"nothing trained (raise train.epochs to continue); {where}"
        )
    return (
        f"trained {result.epochs} epoch(s), {result.steps} steps, final loss {result.last_loss:.4f}, "
        f"{result.images_per_s:.1f} img/s, {result.wall_s:.1f} s; {where}"
    )
