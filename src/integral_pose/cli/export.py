"""``ipr export``: the network + integral op as ONNX (checked against onnxruntime) or a ``torch.export`` .pt2."""

from __future__ import annotations

import argparse
from pathlib import Path

from integral_pose.cli.checkpoint_args import add_recipe_argument, check_checkpoint_args
from integral_pose.cli.progress import stage_printer
from integral_pose.errors import CliError
from integral_pose.export.onnx import ExportParityError, export_checkpoint


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr export``."""
    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX or .pt2 (normalised crops -> normalised coordinates + scores)",
        description="Export the network with the integral op inside. The graph maps normalised crops to normalised "
        "coordinates and per-joint scores; the contract (patch size, mean/std, RGB order, joint names, coordinate "
        "convention) is written into the file's metadata. The export is checked against PyTorch on random crops "
        "(max abs difference <= 1e-4) and not written if it fails.",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="integral-pose checkpoint (.pt), or an original-system checkpoint (*.pth.tar) with --recipe",
    )
    add_recipe_argument(p)
    p.add_argument("--format", choices=("onnx", "pt2"), default="onnx", help="onnx (default) or pt2 (torch.export)")
    p.add_argument("--out", help="output file (default: the checkpoint name with .onnx / .pt2)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    p.add_argument("--dynamic-batch", action="store_true", help="dynamic batch dimension (else --batch-size)")
    p.add_argument("--batch-size", type=int, default=1, help="static batch size without --dynamic-batch (default 1)")
    p.add_argument("--device", default="cpu", help="device the model is traced on (default cpu)")
    p.add_argument("--no-progress", action="store_true", help="no stage lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ipr export``; returns 0 on success, raises :class:`CliError` when the parity check fails."""
    if args.batch_size < 1:
        raise CliError(f"--batch-size: expected >= 1, got {args.batch_size}")
    if args.format == "pt2" and args.opset != 18:
        raise CliError("--opset applies to --format onnx only")
    out = Path(args.out) if args.out else Path(args.checkpoint).with_suffix(f".{args.format}")
    if out.suffix.lower() != f".{args.format}":
        raise CliError(f"--out: expected a .{args.format} file name for --format {args.format}, got {str(out)!r}")
    check_checkpoint_args(args.checkpoint, args.recipe)
    try:
        report = export_checkpoint(
            args.checkpoint,
            out,
            fmt=args.format,
            opset=args.opset,
            dynamic_batch=args.dynamic_batch,
            batch_size=args.batch_size,
            device=args.device,
            progress=None if args.no_progress else stage_printer("export"),
            recipe=args.recipe,
        )
    except ExportParityError as exc:
        raise CliError(str(exc)) from None
    c = report.contract
    batch = "dynamic" if args.dynamic_batch else str(args.batch_size)
    print(f"wrote {report.path} ({report.fmt}, batch {batch})")
    print(
        f"parity vs PyTorch on random crops (batch {', '.join(map(str, report.batch_sizes_checked))}): "
        f"max |diff| = {report.max_abs_diff:.2e} (limit 1e-4)"
    )
    print(
        f"input: crops (B, 3, {c.patch_height}, {c.patch_width}) float32 RGB, (pixel - mean) / std, "
        f"mean {list(c.mean)}, std {list(c.std)}"
    )
    print(f"outputs: coords (B, {c.num_joints}, 3) normalised [-0.5, 0.5), scores (B, {c.num_joints}) in [0, 1]")
    return 0
