"""Issue 13 item 6: the Human3.6M crop affine exactly as the original's (unequal box w and h, no aspect growth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from integral_pose.config.io import load_config
from integral_pose.data.codec import crop_transform
from integral_pose.data.sources.h36m import square_box
from integral_pose.geometry.affine import apply_affine

F = np.array([1145.05, 1143.78])  # S9 camera 1 of Human3.6M: fx != fy, so the projected square is not square
C = np.array([512.54, 515.45])
ROOT = np.array([-180.0, 320.0, 5230.0])  # pelvis, camera frame mm


def test_h36m_square_box_affine_is_pinned() -> None:
    box = square_box(ROOT, F, C)  # the original's 2000 mm square at pelvis depth, projected
    bw, bh = box[2], box[3]
    assert bw != pytest.approx(bh, abs=0.1)  # unequal w and h (fx != fy)
    cx, cy = box[0] + 0.5 * bw, box[1] + 0.5 * bh
    for s in (1.0, 1.2):
        a, inv = crop_transform(box, (256, 256), 1000.0, scale=s, keep_aspect=True)
        # gen_trans_from_patch_cv without rotation: (cx, cy) -> patch centre, x scaled by 256/(bw·s), y by 256/(bh·s)
        expected = np.array([[256 / (bw * s), 0.0, 128 - cx * 256 / (bw * s)],
                             [0.0, 256 / (bh * s), 128 - cy * 256 / (bh * s)]])  # fmt: skip
        np.testing.assert_allclose(a, expected, rtol=0, atol=1e-9)
        np.testing.assert_allclose(inv @ np.vstack([a, [0, 0, 1]]), [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    # the default (box grown to the patch aspect) differs by a fraction of a pixel at the patch edge
    ext, _ = crop_transform(box, (256, 256), 1000.0)
    corners = np.array([[box[0], box[1]], [box[0] + bw, box[1] + bh]])
    keep1, _ = crop_transform(box, (256, 256), 1000.0, keep_aspect=True)
    gap = np.abs(apply_affine(corners, ext) - apply_affine(corners, keep1)).max()
    assert 0.05 < gap < 1.0
    np.testing.assert_allclose(apply_affine(corners, keep1), [[0, 0], [256, 256]], atol=1e-9)


def test_h36m_recipes_crop_as_the_original() -> None:
    configs = Path(__file__).resolve().parents[2] / "configs" / "h36m"
    for path in sorted(configs.glob("*.yaml")):
        cfg = load_config(path)
        specs = [s for s in (*cfg.data.train, *cfg.data.val, *cfg.data.test) if s.kind == "h36m"]
        assert specs and all(s.box_aspect == "keep" for s in specs), path
