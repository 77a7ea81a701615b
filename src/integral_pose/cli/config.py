"""``ipr config show|check FILE [KEY=VALUE ...]``: print or validate a resolved configuration."""

from __future__ import annotations

import argparse
from pathlib import Path

from integral_pose.config.io import config_to_yaml, load_config
from integral_pose.config.schema import Config
from integral_pose.data.checks import peek_records_file, readable_file
from integral_pose.errors import CliError
from integral_pose.models.zoo import is_model_name


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr config`` with its ``show`` and ``check`` actions."""
    p = sub.add_parser("config", help="print (show) or validate (check) a resolved YAML config")
    csub = p.add_subparsers(dest="config_action", metavar="ACTION")
    for action, help_text in (
        ("show", "print the resolved config (defaults + file + overrides) as YAML"),
        (
            "check",
            "validate the config and check that every file it names exists and is readable (records, their image "
            "folders, box files, model.pretrained when it is a local file); exit 0 when valid, 2 otherwise",
        ),
    ):
        q = csub.add_parser(action, help=help_text, description=help_text)
        q.add_argument("file", help="YAML recipe, e.g. configs/h36m/r50_256_int64_l1_mh_e300.yaml ('-' = defaults)")
        q.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides, e.g. optim.lr=1e-4")
        if action == "check":
            q.add_argument(
                "--no-files",
                dest="files",
                action="store_false",
                help="validate the values only, skipping the file checks (default: files are checked)",
            )
        q.set_defaults(func=run)

    def usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=usage)


NON_FILE_PRETRAINED = frozenset({"imagenet"})
"""Values of ``model.pretrained`` that name weights by keyword, not a local file (shipped model names too)."""


def recipe_file_problems(config: Config) -> list[str]:
    """Every file a recipe names that is missing or unreadable, one ``"key: problem"`` line each.

    Checked: each ``data.{train,val,test}[i].records`` (a readable records file), the image folder its header
    names, each box file (``data.box_source`` / ``data.<split>[i].box`` other than ``gt`` / ``tight``) and
    ``model.pretrained`` when it is a local path (not ``imagenet`` or a shipped model's name).
    """
    problems = []
    pretrained = config.model.pretrained
    if pretrained is not None and pretrained not in NON_FILE_PRETRAINED and not is_model_name(pretrained):
        try:
            readable_file(Path(pretrained), "model.pretrained")
        except OSError as exc:
            problems.append(str(exc))
    for split in ("train", "val", "test"):
        for i, spec in enumerate(getattr(config.data, split)):
            if spec.records is not None:
                where = f"data.{split}[{i}].records"
                try:
                    _, root, _ = peek_records_file(spec.records, where)
                except (OSError, ValueError) as exc:
                    problems.append(str(exc))
                else:
                    if not root.is_dir():
                        problems.append(f"{where}: its image folder {str(root)!r} does not exist")
            box = config.data.box_for(spec)
            if box not in ("gt", "tight"):
                try:
                    readable_file(Path(box), f"data.{split}[{i}] box file")
                except OSError as exc:
                    problems.append(str(exc))
    return problems


def run(args: argparse.Namespace) -> int:
    """Resolve the config; ``show`` prints it, ``check`` prints a one-line summary."""
    path = None if args.file == "-" else args.file
    try:
        cfg = load_config(path, args.overrides)
    except (ValueError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None
    if args.config_action == "show":
        print(config_to_yaml(cfg), end="")
        return 0
    checked = ""
    if args.files:
        problems = recipe_file_problems(cfg)
        if problems:
            raise CliError(f"{len(problems)} file problem(s): " + "; ".join(problems) + " (--no-files skips this)")
        checked = ", files present"
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
        f"batch {cfg.train.batch_size}, {cfg.train.epochs} epochs{checked})"
    )
    return 0
