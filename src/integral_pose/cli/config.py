"""``ipr config show|check FILE [KEY=VALUE ...]``: print or validate a resolved configuration."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr config`` with its ``show`` and ``check`` actions."""
    p = sub.add_parser("config", help="print (show) or validate (check) a resolved YAML config")
    csub = p.add_subparsers(dest="config_action", metavar="ACTION")
    for action, help_text in (
        ("show", "print the resolved config (defaults + file + overrides) as YAML"),
        ("check", "validate the config and the files it names; exit 0 when valid, 2 otherwise"),
    ):
        q = csub.add_parser(action, help=help_text, description=help_text)
        q.add_argument("file", help="YAML recipe, e.g. configs/h36m/r50_256_int64_l1_mh_e300.yaml ('-' = defaults)")
        q.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides, e.g. optim.lr=1e-4")
        if action == "check":
            q.add_argument(
                "--files", action="store_true", help="also require the records / pretrained files it names to exist"
            )
        q.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _missing_files(config: object) -> list[str]:
    from pathlib import Path

    from integral_pose.config.schema import Config

    assert isinstance(config, Config)
    out = []
    if config.model.pretrained is not None and not Path(config.model.pretrained).is_file():
        out.append(f"model.pretrained: {config.model.pretrained}")
    for split in ("train", "val", "test"):
        for i, spec in enumerate(getattr(config.data, split)):
            if not Path(spec.records).is_file():
                out.append(f"data.{split}[{i}].records: {spec.records}")
            box = config.data.box_for(spec)
            if box not in ("gt", "tight") and not Path(box).is_file():
                out.append(f"data.{split}[{i}] box file: {box}")
    return out


def run(args: argparse.Namespace) -> int:
    """Resolve the config; ``show`` prints it, ``check`` prints a one-line summary."""
    from integral_pose.config.io import config_to_yaml, load_config
    from integral_pose.errors import CliError

    path = None if args.file == "-" else args.file
    try:
        cfg = load_config(path, args.overrides)
    except (ValueError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None
    if args.config_action == "show":
        print(config_to_yaml(cfg), end="")
        return 0
    if getattr(args, "files", False):
        missing = _missing_files(cfg)
        if missing:
            raise CliError("files not found: " + "; ".join(missing))
    h, w = cfg.heatmap_size
    if cfg.model.arch == "direct":
        output = f"{cfg.model.num_joints}×3 coordinates"
    elif cfg.model.output_3d:
        output = f"heat map {w}×{h}×{cfg.model.depth_bins} bins (W×H×D)"
    else:
        output = f"2D heat map {w}×{h} bins (W×H)"
    if cfg.model.arch == "heatmap":
        output += f", argmax decode, Gaussian targets σ={cfg.loss.heatmap_sigma:g} cells"
    print(
        f"{args.file}: OK ({cfg.model.arch} {cfg.model.backbone}, patch {cfg.data.patch_width}×"
        f"{cfg.data.patch_height} px (W×H), {output}, {len(cfg.data.train)} training dataset(s), "
        f"batch {cfg.train.batch_size}, {cfg.train.epochs} epochs)"
    )
    return 0
