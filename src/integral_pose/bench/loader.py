"""``ipr bench loader``: samples/s of one loader worker — plain decode vs reduced decode vs pre-cropped.

All three rows run in one process on the same synthetic 1000×1000 JPEGs (textured, quality 95) with a person
box of 300–600 px and the training augmentation, producing the full sample (crop, normalisation, targets).
The numbers are per worker (single process, one OpenCV thread); ratios are against the plain-decode row.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from integral_pose.data.dataset import PoseDataset
    from integral_pose.data.records import PoseRecords

__all__ = ["main", "make_jpeg_records"]


def make_jpeg_records(folder: Path, count: int, size: int = 1000, seed: int = 0) -> PoseRecords:
    """Write ``count`` textured ``size``×``size`` JPEGs and a matching H36M-18 records table (boxes 30–60 % of it)."""
    import cv2

    from integral_pose.data.io import write_image_atomic
    from integral_pose.data.records import PoseRecords, RecordsHeader

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


def _rates(datasets: list[PoseDataset], count: int, repeats: int) -> list[float]:
    """Best samples/s of each dataset; rows are interleaved per repeat so machine load hits them alike."""
    best = [0.0] * len(datasets)
    for r in range(repeats):
        for k, ds in enumerate(datasets):
            t0 = time.perf_counter()
            for i in range(count):
                ds[(i, r)]
            best[k] = max(best[k], count / (time.perf_counter() - t0))
    return best


def main(images: int = 40, patches: tuple[int, ...] = (256, 128), repeats: int = 3, size: int = 1000) -> int:
    """Run the benchmark and print one table per patch size; returns the exit code."""
    import cv2

    from integral_pose.data.augment import AugmentConfig
    from integral_pose.data.dataset import PoseDataset
    from integral_pose.data.precrop import precrop_records

    if images < 1 or repeats < 1 or not patches or min(patches) < 8:
        raise ValueError(f"images, patches, repeats: expected >= 1, >= 8 px, >= 1, got {images}, {patches}, {repeats}")
    cv2.setNumThreads(1)
    import torch

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
            rows = [
                ("plain decode", PoseDataset(recs, (patch, patch), augment=aug)),
                (
                    "reduced decode (IMREAD_REDUCED_*)",
                    PoseDataset(recs, (patch, patch), augment=aug, reduced_decode=True),
                ),
                (f"pre-cropped (max side {2 * patch} px)", PoseDataset(cropped, (patch, patch), augment=aug)),
            ]
            for _, ds in rows:  # warm-up (page cache, lazy imports)
                ds[0]
            rates = list(zip([name for name, _ in rows], _rates([ds for _, ds in rows], images, repeats)))
            base = rates[0][1]
            print(f"\npatch {patch}x{patch}")
            print(f"{'pipeline':<40} {'samples/s':>10} {'ratio':>7}")
            for name, rate in rates:
                print(f"{name:<40} {rate:>10.1f} {rate / base:>6.2f}x")
            print(f"(pre-crop pass: {precrop_s:.2f} s for {images} images, done once)")
    return 0
