"""``ipr convert``: write a checkpoint of the original system once as an integral-pose checkpoint.

Example::

    ipr convert --checkpoint model_chall_train_152ft_384x288.pth.tar --recipe challenge-r152-288x384 \\
        --out models/chall_r152.pt
    ipr predict --checkpoint models/chall_r152.pt --source photo.jpg --save-vis out/   # no --recipe needed now
"""

from __future__ import annotations

import argparse
from pathlib import Path

from integral_pose.cli.checkpoint_args import RECIPE_HELP, check_checkpoint_args
from integral_pose.engine.original import convert_original_checkpoint
from integral_pose.errors import CliError
from integral_pose.fileio import check_writable_dir


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr convert``."""
    p = sub.add_parser(
        "convert",
        help="write an original-system checkpoint (*.pth.tar) once as an integral-pose checkpoint (.pt)",
        description="Read a checkpoint of the original system with the recipe it was trained with and write it "
        "(atomically) in this package's checkpoint format, with the config and codec inside: the result works in "
        "ipr predict, eval and export without --recipe and gives the same outputs.",
    )
    p.add_argument("--checkpoint", required=True, help="the original system's checkpoint (*.pth.tar)")
    p.add_argument("--recipe", required=True, metavar="NAME|FILE", help=RECIPE_HELP)
    p.add_argument("--out", required=True, metavar="OUT.pt", help="the integral-pose checkpoint to write")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides of the recipe")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ipr convert``; returns 0 on success."""
    out = Path(args.out)
    if out.is_dir():
        raise CliError(f"--out: expected a file name, got the existing folder {str(out)!r}")
    check_checkpoint_args(args.checkpoint, args.recipe)
    check_writable_dir(out.parent, "--out", keep=False)
    written, ckpt = convert_original_checkpoint(args.checkpoint, args.recipe, out, overrides=args.overrides)
    m, codec = ckpt["config"]["model"], ckpt["codec"]
    volume = (f"{codec['heatmap_width']}x{codec['heatmap_height']}x{codec['depth_bins']} volume"
              if m["arch"] == "integral" else "direct regression")  # fmt: skip
    print(
        f"wrote {written}: {m['backbone']} {m['arch']}, {codec['patch_width']}x{codec['patch_height']} patches, "
        f"{volume}, depth normalised by {codec['depth_norm']}, {len(ckpt['joint_names'])} joints "
        f"({codec['joint_set']}); recipe {ckpt['extra']['recipe']}"
    )
    return 0
