"""Size and speed of the pose-records table at Human3.6M scale: format 1 (before) against format 2 (now).

Synthesises a Human3.6M-like training table (7 subjects × 4 cameras × 15 actions × 2 sub-actions, image paths
``s_09_act_02_subact_01_ca_01/s_09_act_02_subact_01_ca_01_000123.jpg``, 18 joints), then in one run:

* format 1: every column as stored by the first records layout (fixed-width unicode strings, float32
  ``joints_vis``, cameras per row) through ``np.savez_compressed`` / ``np.load``;
* format 2: :func:`integral_pose.data.records.save_records` / :func:`~integral_pose.data.records.load_records`.

It prints the file size, save and (best of ``--repeat``) load wall time and the loaded table's memory (bytes
allocated by NumPy and Python while loading that are still held afterwards, measured with ``tracemalloc`` in a
separate, traced load), with ratios after/before. Format 1's load is a bare ``np.load`` of every member (it
leaves out the table checks that the old ``load_records`` also ran), so its time is a lower bound.

Usage::

    python benchmarks/records_size.py [--rows 1500000] [--repeat 2] [--dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.data.records import STRING_DTYPE, PoseRecords, RecordsHeader, load_records, save_records

SUBJECTS = (1, 5, 6, 7, 8, 9, 11)
CAMERAS = ("54138969", "55011271", "58860488", "60457274")
ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
    "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether",
)  # fmt: skip
NUM_JOINTS = 18


def synthesize(rows: int, seed: int = 0) -> PoseRecords:
    """A Human3.6M-like ``h36m18`` table of ``rows`` rows: videos of consecutive frames, one camera per video."""
    rng = np.random.default_rng(seed)
    videos = [(s, a, b, c) for s in SUBJECTS for a in range(len(ACTIONS)) for b in (1, 2) for c in range(4)]
    per_video = np.full(len(videos), rows // len(videos))
    per_video[: rows % len(videos)] += 1
    cams = {(s, c): rng.normal(size=21).astype(np.float32) for s in SUBJECTS for c in range(4)}
    paths: list[str] = []
    subject, action, camera_id, subaction, frame, cam_rows = [], [], [], [], [], []
    for (s, a, b, c), nf in zip(videos, per_video.tolist()):
        folder = f"s_{s:02d}_act_{a + 2:02d}_subact_{b:02d}_ca_{c + 1:02d}"
        paths += [f"{folder}/{folder}_{f + 1:06d}.jpg" for f in range(nf)]
        subject += [f"S{s}"] * nf
        action += [ACTIONS[a]] * nf
        camera_id += [CAMERAS[c]] * nf
        subaction += [b] * nf
        frame.append(np.arange(nf))
        cam_rows += [cams[s, c]] * nf
    cam = np.asarray(cam_rows, dtype=np.float32).reshape(rows, 21)
    del cam_rows
    # smooth motion: a per-row root drifting in depth plus a fixed pose and small per-frame jitter (mm)
    t = np.arange(rows, dtype=np.float64)
    root = np.stack([300 * np.sin(t / 500), 200 * np.cos(t / 700), 5000 + 500 * np.sin(t / 900)], axis=1)
    pose = rng.normal(0, 250, (NUM_JOINTS, 3))
    j3 = (root[:, None, :] + pose[None] + rng.normal(0, 5, (rows, NUM_JOINTS, 3))).astype(np.float32)
    j2 = (1145.0 * j3[..., :2] / j3[..., 2:] + 500.0).astype(np.float32)
    lo, hi = j2.min(axis=1), j2.max(axis=1)
    header = RecordsHeader(dataset="h36m", split="train", joint_set="h36m18", root="images")
    return PoseRecords.create(
        header,
        image_path=np.asarray(paths, dtype=STRING_DTYPE),
        image_size=np.tile([1000, 1002], (rows, 1)),
        box=np.concatenate([lo, np.maximum(hi - lo, 1.0)], axis=1),
        joints_2d=j2,
        joints_vis=np.ones((rows, NUM_JOINTS), dtype=np.uint8),
        joints_3d_cam=j3,
        cam_f=cam[:, 0:2],
        cam_c=cam[:, 2:4],
        cam_k=cam[:, 4:7],
        cam_p=cam[:, 7:9],
        cam_R=cam[:, 9:18].reshape(rows, 3, 3),
        cam_T=cam[:, 18:21],
        subject=np.asarray(subject, dtype=STRING_DTYPE),
        action=np.asarray(action, dtype=STRING_DTYPE),
        subaction=np.asarray(subaction),
        camera_id=np.asarray(camera_id, dtype=STRING_DTYPE),
        frame=np.concatenate(frame),
    )


def format1_columns(records: PoseRecords) -> dict[str, np.ndarray]:
    """The columns as format 1 held them: fixed-width unicode strings and float32 visibility."""
    cols: dict[str, np.ndarray] = {}
    for name, arr in records.arrays().items():
        if arr.dtype == STRING_DTYPE:
            cols[name] = np.asarray(arr.tolist(), dtype=np.str_)
        elif name == "joints_vis":
            cols[name] = arr.astype(np.float32)
        else:
            cols[name] = arr
    cols["__header__"] = np.asarray(records.header.to_json())
    return cols


def load_format1(path: Path) -> dict[str, np.ndarray]:
    """Every member of a format-1 file (what the first ``load_records`` read before building the table)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def timed(fn: Callable[[], Any], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` calls of ``fn()`` in seconds (each result is dropped before the next call)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def held_bytes(fn: Callable[[], Any]) -> int:
    """Bytes allocated by ``fn()`` that are still held by its result (traced, so not timed)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del out
    return held


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_500_000, help="rows of the synthetic table")
    parser.add_argument("--repeat", type=int, default=2, help="loads timed per format (the best is kept)")
    parser.add_argument("--dir", default=None, help="folder for the two files (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        records = synthesize(args.rows)
        print(f"synthesised {len(records):,} rows in {time.perf_counter() - t0:.1f} s")

        old_path, new_path = folder / "format1.npz", folder / "format2.npz"
        save1 = timed(partial(np.savez_compressed, old_path, **format1_columns(records)))
        save2 = timed(partial(save_records, records, new_path))
        del records
        load1 = timed(partial(load_format1, old_path), args.repeat)
        load2 = timed(partial(load_records, new_path), args.repeat)
        mem1 = held_bytes(lambda: load_format1(old_path))
        mem2 = held_bytes(lambda: load_records(new_path))
        size1, size2 = old_path.stat().st_size, new_path.stat().st_size

    n = args.rows
    rows = [
        ("file size (MB)", size1 / 1e6, size2 / 1e6),
        ("file bytes / row", size1 / n, size2 / n),
        ("save time (s)", save1, save2),
        ("load time (s)", load1, load2),
        ("memory after load (MB)", mem1 / 1e6, mem2 / 1e6),
        ("memory bytes / row", mem1 / n, mem2 / n),
    ]
    print(f"{'rows ' + format(n, ','):<26}{'format 1':>12}{'format 2':>12}{'2 / 1':>9}")
    for label, before, after in rows:
        print(f"{label:<26}{before:>12.2f}{after:>12.2f}{after / before:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
