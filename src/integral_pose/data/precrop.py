"""Pre-cropped image cache: store each sample's enlarged box region once, for datasets read many times.

For every record, the square around the box centre with side ``margin × max(box w, h)`` (default
``(1 + 0.25) · √2`` — room for the largest scale augmentation at any rotation) is cut out of the image (clipped
to it), optionally downscaled so its longer side is at most ``max_side`` px, and written as a JPEG. The new
table's 2D quantities are mapped by the same isotropic pixel transform ``u' = k·(u − x0)`` (box, joints_2d,
principal point; focal length and head size × k), so 3D labels, projections and every crop the training pipeline
takes are unchanged — the crop a sample gets from the cache equals the one from the full image up to resampling.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from integral_pose.data.io import read_image_bgr, write_image_atomic
from integral_pose.data.records import PoseRecords, RecordsHeader

__all__ = ["DEFAULT_MARGIN", "crop_region", "precrop_records"]

DEFAULT_MARGIN = 1.25 * math.sqrt(2.0)


def crop_region(box_xywh: np.ndarray, image_wh: tuple[int, int], margin: float) -> tuple[int, int, int, int]:
    """Integer region (x0, y0, x1, y1) (exclusive end) of the enlarged square around a box, clipped to the image."""
    x, y, w, h = (float(v) for v in box_xywh)
    half = 0.5 * margin * max(w, h)
    cx, cy = x + 0.5 * w, y + 0.5 * h
    x0 = max(0, math.floor(cx - half))
    y0 = max(0, math.floor(cy - half))
    x1 = min(int(image_wh[0]), math.ceil(cx + half))
    y1 = min(int(image_wh[1]), math.ceil(cy + half))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {list(box_xywh)} lies outside the {image_wh[0]}x{image_wh[1]} image")
    return x0, y0, x1, y1


def _shrink(region: np.ndarray, k: float, size: tuple[int, int]) -> np.ndarray:
    """Resample ``region`` by the isotropic map ``u' = k·u`` into ``size`` (W, H): ``pyrDown`` halvings (pixel i →
    i/2 exactly) while k ≤ 1/2, then one bilinear ``warpAffine`` for the rest."""

    if k == 1.0:
        return region
    m = 1.0
    while k / m <= 0.5 and min(region.shape[:2]) >= 2:
        region = cv2.pyrDown(region)
        m *= 0.5
    r = k / m
    return cv2.warpAffine(region, np.array([[r, 0.0, 0.0], [0.0, r, 0.0]]), size, flags=cv2.INTER_LINEAR)


def precrop_records(
    records: PoseRecords,
    out_dir: str | os.PathLike[str],
    margin: float = DEFAULT_MARGIN,
    max_side: int | None = None,
    jpeg_quality: int = 95,
    progress: Callable[[int], None] | None = None,
) -> PoseRecords:
    """Write the crops under ``out_dir/crops/`` and return the matching table (root = ``out_dir``).

    Existing crop files are reused (resumable). ``progress(i)`` is called after each record.
    """
    if not margin >= 1.0:
        raise ValueError(f"margin: expected >= 1, got {margin}")
    if max_side is not None and max_side < 8:
        raise ValueError(f"max_side: expected >= 8 px, got {max_side}")
    out = Path(out_dir)
    (out / "crops").mkdir(parents=True, exist_ok=True)
    n = len(records)
    paths, sizes = [], np.zeros((n, 2), np.int32)
    box = records.box.astype(np.float64).copy()
    j2d = records.joints_2d.astype(np.float64).copy()
    cam_f = records.cam_f.astype(np.float64).copy()
    cam_c = records.cam_c.astype(np.float64).copy()
    head = records.head_size.astype(np.float64).copy()  # NaN stays NaN
    for i in range(n):
        wh = (int(records.image_size[i, 0]), int(records.image_size[i, 1]))
        try:
            x0, y0, x1, y1 = crop_region(records.box[i], wh, margin)
        except ValueError as exc:
            raise ValueError(f"records.box[{i}] ({records.image_path[i]}): {exc}") from None
        w, h = x1 - x0, y1 - y0
        k = 1.0 if max_side is None or max(w, h) <= max_side else max_side / max(w, h)
        nw, nh = (w, h) if k == 1.0 else (math.ceil(w * k - 1e-9), math.ceil(h * k - 1e-9))
        name = f"crops/{i:08d}.jpg"
        target = out / name
        if not target.is_file():
            img = read_image_bgr(records.image_file(i))
            if img.shape[1] != wh[0] or img.shape[0] != wh[1]:
                raise ValueError(
                    f"records.image_size[{i}] is {list(wh)} but {records.image_file(i)} is "
                    f"{img.shape[1]}x{img.shape[0]}"
                )
            write_image_atomic(target, _shrink(img[y0:y1, x0:x1], k, (nw, nh)), jpeg_quality)
        a = np.array([k, k])
        b = -k * np.array([x0, y0], dtype=np.float64)  # u' = k·(u − x0), isotropic
        paths.append(name)
        sizes[i] = (nw, nh)
        box[i, :2] = box[i, :2] * a + b  # the box corner moves like a point; its size scales by a
        box[i, 2:] *= a
        j2d[i] = j2d[i] * a + b
        head[i] *= k
        if (cam_f[i] > 0).all():
            cam_f[i] *= a
            cam_c[i] = cam_c[i] * a + b
        if progress is not None:
            progress(i)
    h = records.header
    meta = {**h.meta, "precrop": {"margin": margin, "max_side": max_side, "source_root": str(records.root_dir)}}
    header = RecordsHeader(
        dataset=h.dataset,
        split=h.split,
        joint_set=h.joint_set,
        root=str(out.resolve()),
        has_3d=h.has_3d,
        source_hash=h.source_hash,
        meta=meta,
    )
    cols = records.arrays()
    cols.update(
        image_path=np.asarray(paths, dtype=np.str_),
        image_size=sizes,
        box=box.astype(np.float32),
        joints_2d=j2d.astype(np.float32),
        cam_f=cam_f.astype(np.float32),
        cam_c=cam_c.astype(np.float32),
        head_size=head.astype(np.float32),
    )
    return PoseRecords(header=header, **cols)
