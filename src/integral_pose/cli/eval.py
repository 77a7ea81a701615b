"""``ipr eval``: score a checkpoint (or an ensemble) on a test protocol; write ``eval.json`` and a PNG report.

Examples::

    ipr eval --checkpoint runs/demo/integral/checkpoints/last.pt
    ipr eval --checkpoint best.pt --config configs/h36m/r50_256_int64_l1_mh_e300.yaml --protocol h36m_p1 --flip-test
    ipr eval --checkpoint a.pt --ensemble b.pt c.pt --boxes tight
    ipr eval --checkpoint mpii2d.pt --config configs/mpii/….yaml --protocol mpii_pckh --flip-test
    ipr eval --checkpoint best.pt --protocol coco_ap     # also writes eval_results_coco.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from integral_pose.fileio import check_writable_dir


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr eval``."""
    p = sub.add_parser(
        "eval",
        help="evaluate a checkpoint on a test protocol (eval.json + PNG report)",
        description="Evaluate a checkpoint. The data to score comes from --config (default: the config stored in "
        "the checkpoint); the network is rebuilt from the checkpoint itself.",
    )
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="checkpoint file (.pt)")
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the metrics table; exit code 0, or 2 on bad input."""
    import dataclasses

    from integral_pose.config.io import config_from_dict, load_config
    from integral_pose.engine.checkpoint import load_checkpoint
    from integral_pose.engine.distributed import resolve_device
    from integral_pose.engine.evaluator import evaluate, format_result
    from integral_pose.errors import CliError
    from integral_pose.models.zoo import is_model_name

    if args.max_samples is not None and args.max_samples < 1:
        raise CliError(f"--max-samples: expected an int >= 1, got {args.max_samples}")
    ckpt_path = Path(args.checkpoint)
    if args.config is not None:
        cfg = load_config(args.config, args.overrides)
    else:
        if args.overrides:
            from integral_pose.config.io import apply_overrides

            cfg = config_from_dict(apply_overrides(load_checkpoint(ckpt_path)["config"], args.overrides))
        else:
            cfg = config_from_dict(load_checkpoint(ckpt_path)["config"])
    if args.root_depth is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, root_depth=args.root_depth))
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
        protocol=args.protocol,
        flip_test=args.flip_test,
        boxes=args.boxes,
        device=resolve_device(args.device),
        max_samples=args.max_samples,
        report=not args.no_report,
        title=ckpt_path.name,
    )
    print(format_result(res))
    from integral_pose.engine.evaluator import COCO_RESULTS_FILE

    written = [out / "eval.json"]
    if res["protocol"] == "coco_ap":
        written.append(out / COCO_RESULTS_FILE)
    if not args.no_report:
        written.append(out / "report.png")
    print("wrote " + ", ".join(str(w) for w in written))
    return 0
