"""Pure parts of the evaluator: camera-space lifting, solved root, bone-length rescale, flip merge, ensemble."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.engine.eval_score_3d import (
    bone_rescale,
    ensemble_mean,
    lift_gt_root_depth,
    lift_solved_root,
    merge_flip,
)
from integral_pose.skeletons import H36M_18


def _project(points: np.ndarray, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    return points[..., :2] / points[..., 2:3] * f[:, None] + c[:, None]


def test_lift_gt_root_depth_hand_computed():
    uv = np.array([[[60.0, 40.0], [70.0, 40.0]]])  # (1, 2, 2)
    z = np.array([[0.0, 500.0]])
    out = lift_gt_root_depth(uv, z, np.array([2000.0]), np.array([[100.0, 100.0]]), np.array([[50.0, 50.0]]))
    # joint 0: X = (60-50)/100*2000 = 200, Y = (40-50)/100*2000 = -200; joint 1 at depth 2500: X = 20/100*2500
    np.testing.assert_allclose(out[0], [[200.0, -200.0, 2000.0], [500.0, -250.0, 2500.0]])


def test_lift_is_inverse_of_projection():
    rng = np.random.default_rng(0)
    pts = rng.normal(0, 300, (4, 18, 3)) + np.array([0, 0, 4000])
    f, c = np.full((4, 2), 1100.0), np.full((4, 2), 500.0)
    uv = _project(pts, f, c)
    out = lift_gt_root_depth(uv, pts[..., 2] - pts[:, :1, 2], pts[:, 0, 2], f, c)
    np.testing.assert_allclose(out, pts, atol=1e-6)


def test_solved_root_recovers_translation_from_exact_inputs():
    rng = np.random.default_rng(1)
    pts = rng.normal(0, 250, (3, 18, 3)) + np.array([[[100, -50, 4500]], [[-300, 80, 3500]], [[0, 0, 6000]]])
    f, c = np.full((3, 2), 1000.0), np.full((3, 2), 512.0)
    uv = _project(pts, f, c)
    box_w = f[:, 0] * 2000.0 / pts[:, 0, 2] * 1.3  # a wrong initial depth, the solve must fix it
    out = lift_solved_root(uv, pts[..., 2] - pts[:, :1, 2], f, c, box_w, 2000.0)
    assert np.isfinite(out).all()
    # the relative shape is only known up to the initial depth's scale; the re-projection must match
    np.testing.assert_allclose(_project(out, f, c), uv, atol=0.5)


def test_bone_rescale_total_length_and_root_centre():
    rng = np.random.default_rng(2)
    pose = rng.normal(0, 100, (2, 18, 3)) + 1000.0
    out = bone_rescale(pose, H36M_18.parents, 4502.881)
    assert np.allclose(out[:, 0], 0.0)
    lengths = H36M_18.bone_lengths(out).sum(-1)
    np.testing.assert_allclose(lengths, 4502.881, rtol=1e-9)
    # direction of every joint from the root is unchanged
    rel = pose - pose[:, :1]
    cos = (rel * out).sum(-1)[:, 1:] / (np.linalg.norm(rel, axis=-1) * np.linalg.norm(out, axis=-1))[:, 1:]
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="total_length_mm"):
        bone_rescale(pose, H36M_18.parents, 0.0)
    with pytest.raises(ValueError, match="parents"):
        bone_rescale(pose, H36M_18.parents[:5], 1.0)


def test_merge_flip_and_ensemble():
    a, b = np.zeros((2, 3, 3)), np.ones((2, 3, 3))
    np.testing.assert_allclose(merge_flip(a, b), 0.5)
    np.testing.assert_allclose(ensemble_mean([a, b, 2 * b]), 1.0)
    with pytest.raises(ValueError, match="shape"):
        ensemble_mean([a, np.zeros((1, 3, 3))])
    with pytest.raises(ValueError, match="at least one"):
        ensemble_mean([])
    with pytest.raises(ValueError, match="shapes differ"):
        merge_flip(a, np.zeros((1, 3, 3)))


def test_lift_rejects_unknown_intrinsics():
    with pytest.raises(ValueError, match="f: expected focal lengths > 0"):
        lift_gt_root_depth(np.zeros((1, 2, 2)), np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)), np.zeros((1, 2)))
