"""``ipr data prepare | h36m-convert | precrop``: real datasets → canonical pose records.

:data:`COMMANDS` holds the ``(name, help, register)`` entries that ``ipr data`` registers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from integral_pose.conventions import DEFAULT_RECT_3D_MM
from integral_pose.data.convert.h36m_raw import convert_raw
from integral_pose.data.precrop import DEFAULT_MARGIN, precrop_records
from integral_pose.data.records import hash_files, load_records, save_records
from integral_pose.data.sources import common, h36m
from integral_pose.data.sources.coco import read_coco
from integral_pose.data.sources.h36m_challenge import read_challenge
from integral_pose.data.sources.mpii import read_mpii
from integral_pose.errors import CliError
from integral_pose.fileio import check_writable_dir

SOURCES = ("h36m", "h36m-challenge", "mpii", "coco")


def _register_prepare(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", choices=SOURCES, help="dataset kind")
    p.add_argument("--root", required=True, help="dataset folder")
    p.add_argument("--split", required=True,
                   help="h36m: train|test (protocol subjects); challenge: Train|Val|Test; mpii: train|valid|trainval; "
                        "coco: train2017|val2017")  # fmt: skip
    p.add_argument("--out", required=True, help="output records file (.npz)")
    p.add_argument("--layout", choices=("original", "json"), default="original",
                   help="h36m folder layout: the original system's images/+annot/ or the json annotations/ one "
                        "(default original)")  # fmt: skip
    p.add_argument("--protocol", type=int, choices=(1, 2), default=2, help="h36m subject split (default 2)")
    p.add_argument("--subjects", nargs="+", default=None, help="h36m subjects (overrides --protocol), e.g. S9 S11")
    p.add_argument("--stride", type=int, default=None, help="h36m frame stride (default 5 train, 64 test)")
    p.add_argument("--frames-per-video", type=int, default=None, help="h36m: N random frames per video instead")
    p.add_argument("--seed", type=int, default=0, help="seed of --frames-per-video (default 0)")
    p.add_argument("--box", choices=("square", "tight", "annotation"), default="square",
                   help="h36m box: the original's 2000 mm square, tight joints x1.25, or the json bbox "
                        "(default square)")  # fmt: skip
    p.add_argument("--rect-3d-mm", type=float, default=DEFAULT_RECT_3D_MM,
                   help=f"h36m square box side in mm (default {DEFAULT_RECT_3D_MM:g})")  # fmt: skip
    p.add_argument("--joint-set", default="h36m18", help="mpii/coco: h36m18 (mapped) or mpii16/coco17 (default h36m18)")
    p.add_argument("--pred-2d", default=None, help="challenge: JSON of 2D joints per image for the similarity fit")
    p.add_argument("--detector-boxes", default=None, help="JSON of detector boxes per image path (replaces boxes)")
    p.add_argument("--detector-factor", type=float, default=1.0,
                   help="detector box enlargement (default 1.0 = none; the original system used 1.1)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="rebuild even when --out is up to date")

    def run(args: argparse.Namespace) -> int:

        out = Path(args.out)
        if out.suffix != ".npz":
            raise CliError(f"--out must end in .npz, got {args.out!r}")
        check_writable_dir(out.parent, "--out")
        params = {k: v for k, v in sorted(vars(args).items()) if k not in ("func", "force", "verb", "data_command")}
        params = json.loads(json.dumps(params, default=str))
        if out.is_file() and not args.force:
            old = load_records(out)
            if old.header.meta.get("prepare") == params and _sources_unchanged(old.header.meta, old.header.source_hash):
                print(f"{out}: up to date (use --force to rebuild)")
                print(summarize(old))
                return 0
        records = _read(args)
        records.header.meta["prepare"] = params
        save_records(records, out)
        print(f"wrote {out}")
        print(summarize(records))
        return 0

    p.set_defaults(func=run)


def _sources_unchanged(meta: dict[str, Any], source_hash: str) -> bool:

    files = meta.get("source_files")
    if not files or not source_hash:
        return False
    try:
        return hash_files(files) == source_hash
    except OSError:
        return False


def _read(args: argparse.Namespace) -> Any:

    if args.source == "h36m":
        if args.subjects:
            subjects = h36m.parse_subjects(args.subjects)
        else:
            if args.split not in ("train", "test"):
                raise CliError(f"--split: expected train or test for h36m (or give --subjects), got {args.split!r}")
            subjects = h36m.protocol_subjects(args.protocol, args.split)
        stride = args.stride if args.stride is not None else (64 if args.split == "test" else 5)
        reader = h36m.read_original_layout if args.layout == "original" else h36m.read_json_layout
        records = reader(
            args.root,
            subjects,
            split=args.split,
            stride=stride,
            frames_per_video=args.frames_per_video,
            seed=args.seed,
            box_mode=args.box,
            rect_3d_mm=args.rect_3d_mm,
        )
    elif args.source == "h36m-challenge":
        records = read_challenge(args.root, args.split, pred_2d=args.pred_2d)
    elif args.source == "mpii":
        records = read_mpii(args.root, args.split, joint_set=args.joint_set)
    else:
        records = read_coco(args.root, args.split, joint_set=args.joint_set)
    if args.detector_boxes:
        boxes = common.load_detector_boxes(args.detector_boxes)
        records = common.apply_detector_boxes(records, boxes, factor=args.detector_factor)
    return records


def summarize(records: Any) -> str:
    """Multi-line summary of a table: frames, subjects, actions, joints with valid 3D."""

    h = records.header
    n = len(records)
    has3d = np.isfinite(records.joints_3d_cam).all(axis=-1) & (records.joints_vis > 0)
    subjects = sorted({s for s in records.subject.tolist() if s})
    actions = sorted({a for a in records.action.tolist() if a})
    lines = [
        f"dataset {h.dataset}  split {h.split}  joint set {h.joint_set}  frames {n}",
        f"subjects ({len(subjects)}): {' '.join(subjects) if subjects else '-'}",
        f"actions ({len(actions)}): {' '.join(actions) if actions else '-'}",
        f"joints labelled 2D: {int((records.joints_vis > 0).sum())}  with valid 3D: {int(has3d.sum())} "
        f"({100.0 * has3d.mean() if n else 0.0:.1f}%)",
        f"box side px: median {float(np.median(records.box[:, 2:].max(axis=1))) if n else 0.0:.1f}",
    ]
    return "\n".join(lines)


def _register_convert(p: argparse.ArgumentParser) -> None:
    p.add_argument("--src", required=True, help="raw release folder (S1/, S5/ … with Videos/ and MyPoseFeatures/)")
    p.add_argument("--dst", required=True, help="output folder in the original layout (images/, annot/)")
    p.add_argument("--stride", type=int, default=5, help="keep every N-th video frame (default 5)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--subjects", nargs="+", default=None, help="only these subjects, e.g. S1 S5")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def run(args: argparse.Namespace) -> int:
        s = convert_raw(
            args.src, args.dst, stride=args.stride, workers=args.workers, subjects=args.subjects,
            progress=not args.quiet,
        )  # fmt: skip
        print(f"converted {len(s.converted)} videos ({s.frames_written} frames), already done {len(s.skipped_done)}, "
              f"skipped (missing/corrupt) {len(s.skipped_broken)}")  # fmt: skip
        for folder in s.skipped_broken:
            print(f"  skipped: {folder}")
        print(f"next: ipr data prepare h36m --root {args.dst} --split train --out train.npz --stride {args.stride}")
        return 0

    p.set_defaults(func=run)


def _register_precrop(p: argparse.ArgumentParser) -> None:
    p.add_argument("--records", required=True, help="input records .npz")
    p.add_argument("--out-dir", required=True, help="folder for crops/ (and the default --out)")
    p.add_argument("--out", default=None, help="output records .npz (default OUT_DIR/records.npz)")
    p.add_argument("--margin", type=float, default=None, help="region side / box side (default 1.25·√2)")
    p.add_argument("--max-side", type=int, default=None, help="downscale regions to at most this many px")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def run(args: argparse.Namespace) -> int:

        recs = load_records(args.records)
        check_writable_dir(args.out_dir, "--out-dir")
        if args.out:
            check_writable_dir(Path(args.out).parent, "--out")
        bar = tqdm(total=len(recs), desc="precrop", unit="img", disable=args.quiet)
        try:
            out = precrop_records(
                recs, args.out_dir, margin=args.margin or DEFAULT_MARGIN, max_side=args.max_side,
                progress=lambda i: bar.update(1),
            )  # fmt: skip
        finally:
            bar.close()
        path = save_records(out, args.out or Path(args.out_dir) / "records.npz")
        print(f"wrote {path} ({len(out)} crops under {Path(args.out_dir) / 'crops'})")
        return 0

    p.set_defaults(func=run)


COMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None]]] = [
    ("prepare", "read a dataset (h36m, h36m-challenge, mpii, coco) into a records .npz", _register_prepare),
    ("h36m-convert", "convert the official Human3.6M release (videos + CDF) to the original layout", _register_convert),
    ("precrop", "cache each sample's enlarged box region once (faster loading)", _register_precrop),
]
