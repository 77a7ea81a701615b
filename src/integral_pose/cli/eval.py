"""``ipr eval``: score a checkpoint (or an ensemble) on a test protocol; write ``eval.json`` and a PNG report.

Examples::

    ipr eval --checkpoint runs/demo/integral/checkpoints/last.pt
    ipr eval --checkpoint best.pt --config configs/h36m/r50_256_int64_l1_mh_e300.yaml --protocol h36m_p1 --flip-test
    ipr eval --checkpoint a.pt --ensemble b.pt c.pt --boxes tight
    ipr eval --checkpoint mpii2d.pt --config configs/mpii/….yaml --protocol mpii_pckh --flip-test
    ipr eval --checkpoint best.pt --protocol coco_ap     # also writes eval_results_coco.json
    ipr eval --checkpoint model_chall_train_152ft_384x288.pth.tar --recipe challenge-r152-288x384 \
        data.test.0.records=data_cache/h36m_challenge/val.npz   # an original-system checkpoint
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from integral_pose.cli.checkpoint_args import add_recipe_argument, check_checkpoint_args
from integral_pose.cli.progress import stage_printer
from integral_pose.config.io import config_with_overrides, load_config
from integral_pose.config.schema import Config
from integral_pose.data.checks import check_records_inputs
from integral_pose.engine.checkpoint import load_checkpoint
from integral_pose.engine.distributed import resolve_device
from integral_pose.engine.evaluator import COCO_RESULTS_FILE, evaluate, format_result
from integral_pose.errors import CliError
from integral_pose.eval.protocols import ProtocolMismatchError, resolve_protocol
from integral_pose.fileio import check_writable_dir
from integral_pose.models.zoo import is_model_name, recipe_config


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr eval``."""
    p = sub.add_parser(
        "eval",
        help="evaluate a checkpoint on a test protocol (eval.json + PNG report)",
        description="Evaluate a checkpoint. The data to score comes from --config (default: the config stored in "
        "the checkpoint, or --recipe for an original-system checkpoint); the network is rebuilt from the checkpoint "
        "itself.",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="CKPT",
        help="checkpoint file (.pt), or an original-system checkpoint (*.pth.tar) with --recipe",
    )
    add_recipe_argument(p)
    p.add_argument("--config", default=None, metavar="FILE", help="YAML recipe naming the test data")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted config overrides")
    p.add_argument("--protocol", default=None,
                   help="h36m_p1, h36m_p2, h36m_challenge, synthmocap (3D), mpii_pckh or coco_ap (2D); "
                   "default: eval.protocol")  # fmt: skip
    p.add_argument("--flip-test", action=argparse.BooleanOptionalAction, default=None,
                   help="average with the mirrored crop's prediction (default: eval.flip_test)")  # fmt: skip
    p.add_argument("--boxes", default=None, metavar="gt|tight|FILE",
                   help="person boxes, overriding data.<split>[i].box and data.box_source "
                   "(default: the config's)")  # fmt: skip
    p.add_argument("--ensemble", nargs="+", default=[], metavar="CKPT", help="more checkpoints to average with")
    p.add_argument("--root-depth", choices=("gt", "solve"), default=None,
                   help="camera-space root: ground-truth depth (paper) or solved from intrinsics")  # fmt: skip
    p.add_argument("--split", choices=("test", "val"), default="test", help="data split (default: test)")
    p.add_argument("--max-samples", type=int, default=None, help="evaluate at most N samples per dataset")
    p.add_argument("--out", default=None, help="output folder (default: <run folder>/eval)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--no-report", action="store_true", help="skip the PNG report")
    p.add_argument("--no-progress", action="store_true", help="no stage lines or progress bar on stderr")
    p.set_defaults(func=run)


def _checked_protocol(cfg: Config, args: argparse.Namespace) -> str:
    """Cheap checks of the data before the model loads, and the protocol that matches the records' dataset.

    The records of the split must be readable with their images present; ``--protocol`` must match the records'
    dataset (else one line naming the protocol, the dataset it expects and what the records contain); a configured
    ``eval.protocol`` that does not match is replaced by the records' default protocol, with a note.
    """
    try:
        infos = check_records_inputs(cfg, args.split)
        tables = [(f"{i.where} {str(i.path)!r}", i.header.dataset) for i in infos]
        proto, note = resolve_protocol(args.protocol, cfg.eval.protocol, tables)
    except ProtocolMismatchError as exc:
        raise CliError(str(exc)) from None
    if note:
        print(f"note: {note}", file=sys.stderr, flush=True)
    return proto.name


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the metrics table; exit code 0, or 2 on bad input."""
    if args.max_samples is not None and args.max_samples < 1:
        raise CliError(f"--max-samples: expected an int >= 1, got {args.max_samples}")
    ckpt_path = Path(args.checkpoint)
    for flag, path in [("--checkpoint", args.checkpoint), *(("--ensemble", e) for e in args.ensemble)]:
        check_checkpoint_args(path, args.recipe, flag)
    if args.config is not None:
        cfg = load_config(args.config, args.overrides)
    elif args.recipe is not None:  # an original-system checkpoint: its recipe names the test data too
        cfg = recipe_config(args.recipe, args.overrides)
    else:
        stored = load_checkpoint(ckpt_path)["config"]
        cfg = config_with_overrides(stored, args.overrides, f"the config stored in {args.checkpoint}")
    if args.root_depth is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, root_depth=args.root_depth))
    protocol = _checked_protocol(cfg, args)
    if args.out:
        out = Path(args.out)
    elif is_model_name(args.checkpoint):  # a shipped model: never write into the installed package
        out = Path("runs") / "eval" / args.checkpoint
    elif ckpt_path.parent.name == "checkpoints":
        out = ckpt_path.parent.parent / "eval"
    else:
        out = ckpt_path.parent / "eval"
    check_writable_dir(out, "--out")  # before the evaluation, so a finished evaluation is never lost
    res = evaluate(
        cfg,
        [ckpt_path, *map(Path, args.ensemble)],
        out,
        split=args.split,
        protocol=protocol,
        flip_test=args.flip_test,
        boxes=args.boxes,
        device=resolve_device(args.device),
        max_samples=args.max_samples,
        report=not args.no_report,
        title=ckpt_path.name,
        progress=None if args.no_progress else stage_printer("eval"),
        recipe=args.recipe,
    )
    print(format_result(res))
    written = [out / "eval.json"]
    if res["protocol"] == "coco_ap":
        written.append(out / COCO_RESULTS_FILE)
    if not args.no_report:
        written.append(out / "report.png")
    print("wrote " + ", ".join(str(w) for w in written))
    return 0
