"""``ipr bench loader``: samples/s of one loader worker — plain decode vs reduced decode vs pre-cropped.

All three rows run in one process on the same synthetic 1000×1000 JPEGs (textured, quality 95) with a person
box of 300–600 px and the training augmentation, producing the full sample (crop, normalisation, targets).
The numbers are per worker (single process, one OpenCV thread); ratios are against the plain-decode row.

The ``decode`` column says at which resolution each row decoded its JPEGs: ``1/r ×n`` means n of the images at
1/r of their size. Reduced decode only applies when the box, shrunk by the smallest augmentation scale, still spans
at least 2× the patch side; with 300–600 px boxes, scale ≥ 0.75 and a 256 px patch it never does (every image is
decoded at full size, so that row is plain decode and its ratio is ≈ 1).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from integral_pose.data.augment import AugmentConfig
from integral_pose.data.dataset import PoseDataset
from integral_pose.data.io import write_image_atomic
from integral_pose.data.precrop import precrop_records
from integral_pose.data.records import PoseRecords, RecordsHeader

if TYPE_CHECKING:
    from integral_pose.data.dataset import PoseDataset
    from integral_pose.data.records import PoseRecords

__all__ = ["decode_summary", "main", "make_jpeg_records"]


def make_jpeg_records(folder: Path, count: int, size: int = 1000, seed: int = 0) -> PoseRecords:
    """Write ``count`` textured ``size``×``size`` JPEGs and a matching H36M-18 records table (boxes 30–60 % of it)."""

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names, boxes, joints = [], [], []
    base = cv2.resize(rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8), (size, size))
    for i in range(count):
        noise = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
        img = cv2.add(np.roll(base, 13 * i, axis=1), noise)
        name = f"frame_{i:05d}.jpg"
        write_image_atomic(folder / name, img, jpeg_quality=95)
        side = rng.uniform(0.3, 0.6) * size
        x0, y0 = rng.uniform(0, size - side, 2)
        names.append(name)
        boxes.append([x0, y0, side, side])
        joints.append(np.stack([rng.uniform(x0, x0 + side, 18), rng.uniform(y0, y0 + side, 18)], axis=1))
    header = RecordsHeader(dataset="bench", split="train", joint_set="h36m18", root=str(folder), has_3d=False)
    return PoseRecords.create(
        header,
        image_path=names,
        image_size=np.full((count, 2), size),
        box=np.asarray(boxes),
        joints_2d=np.asarray(joints),
    )


def decode_summary(factors: list[int]) -> str:
    """``"1/1 x40"`` or ``"1/2 x25, 1/1 x15"``: how many images were decoded at each reduction, largest first."""
    counts: dict[int, int] = {}
    for r in factors:
        counts[int(r)] = counts.get(int(r), 0) + 1
    return ", ".join(f"1/{r} x{n}" for r, n in sorted(counts.items(), reverse=True))


def _rates(datasets: list[PoseDataset], count: int, repeats: int) -> list[float]:
    """Best samples/s of each dataset; rows are interleaved per repeat, in a rotated order, so machine load and
    cache warmth hit them alike."""
    best = [0.0] * len(datasets)
    for r in range(repeats):
        for k in [(r + j) % len(datasets) for j in range(len(datasets))]:
            ds = datasets[k]
            t0 = time.perf_counter()
            for i in range(count):
                ds[(i, r)]
            best[k] = max(best[k], count / (time.perf_counter() - t0))
    return best


def main(images: int = 40, patches: tuple[int, ...] = (256, 128), repeats: int = 3, size: int = 1000) -> int:
    """Run the benchmark and print one table per patch size; returns the exit code."""

    if images < 1 or repeats < 1 or not patches or min(patches) < 8:
        raise ValueError(f"images, patches, repeats: expected >= 1, >= 8 px, >= 1, got {images}, {patches}, {repeats}")
    cv2.setNumThreads(1)

    torch.set_num_threads(1)
    aug = AugmentConfig()
    print(f"loader: {images} JPEGs {size}x{size}, person boxes 30-60 % of the image, training augmentation, "
          f"1 worker (1 thread), best of {repeats}; baseline = plain decode, ratio = samples/s / baseline "
          f"samples/s (higher = faster)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ipr-bench-loader-") as tmp:
        root = Path(tmp)
        recs = make_jpeg_records(root / "full", images, size=size)
        for patch in patches:
            t0 = time.perf_counter()
            cropped = precrop_records(recs, root / f"crops{patch}", max_side=2 * patch)
            precrop_s = time.perf_counter() - t0
            reduced = PoseDataset(recs, (patch, patch), augment=aug, reduced_decode=True)
            rows = [
                ("plain decode", PoseDataset(recs, (patch, patch), augment=aug), "1/1 x" + str(images)),
                (
                    "reduced decode (IMREAD_REDUCED_*)",
                    reduced,
                    decode_summary([reduced.decode_reduction(i) for i in range(images)]),
                ),
                (
                    f"pre-cropped (max side {2 * patch} px)",
                    PoseDataset(cropped, (patch, patch), augment=aug),
                    "1/1 x" + str(images) + " (crops)",
                ),
            ]
            for _, ds, _ in rows:  # warm-up (page cache, lazy imports)
                ds[0]
            rates = _rates([ds for _, ds, _ in rows], images, repeats)
            base = rates[0]
            print(f"\npatch {patch}x{patch}")
            print(f"{'pipeline':<40} {'decode':<20} {'samples/s':>10} {'ratio':>7}")
            for (name, _, decode), rate in zip(rows, rates):
                print(f"{name:<40} {decode:<20} {rate:>10.1f} {rate / base:>6.2f}x")
            if all(reduced.decode_reduction(i) == 1 for i in range(images)):
                print(
                    f"(reduced decode does not apply here: every box x min scale {aug.min_scale:g} is under "
                    f"2 x {patch} px, so it decodes at full size like plain decode)"
                )
            print(f"(pre-crop pass: {precrop_s:.2f} s for {images} images, done once)")
    return 0
