"""A few ECCV'18 challenge Val samples written in the challenge layout (``Val/IMG``, ``Val/POSE``, 2D JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from tiny_data import REST_POSE_MM

from integral_pose.data.records import save_records
from integral_pose.data.sources.h36m_challenge import read_challenge


def write_challenge_val(root: Path, n: int = 4) -> Path:
    """Write ``n`` Val samples in the challenge layout and return the records file read from it."""
    rng = np.random.default_rng(3)
    (root / "Val" / "IMG").mkdir(parents=True)
    (root / "Val" / "POSE").mkdir()
    preds = {}
    for i in range(n):
        name = f"{i + 1:05d}"
        pose = REST_POSE_MM + rng.normal(0.0, 30.0, REST_POSE_MM.shape)
        pose -= pose[0]
        cv2.imwrite(str(root / "Val" / "IMG" / f"{name}.jpg"), rng.integers(0, 255, (160, 160, 3), dtype=np.uint8))
        rows = "\n".join(",".join(f"{v:.4f}" for v in r) for r in pose[:17])
        (root / "Val" / "POSE" / f"{name}.csv").write_text(rows)
        preds[f"{name}.jpg"] = (0.06 * pose[:17, :2] + [80.0, 80.0] + rng.normal(0.0, 1.0, (17, 2))).tolist()
    (root / "pred2d.json").write_text(json.dumps(preds))
    return save_records(read_challenge(root, "Val", pred_2d=root / "pred2d.json"), root / "val.npz")
