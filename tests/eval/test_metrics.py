"""3D metrics: hand-computed cases, invariances, a scipy oracle for PA-MPJPE, aggregation, PCK/AUC, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from integral_pose.eval.metrics import (
    PCK_THRESHOLDS_MM,
    auc_3d,
    group_errors,
    joint_errors,
    mpjpe,
    n_mpjpe,
    pa_mpjpe,
    pck_3d,
    pck_curve,
    per_action_mean,
    rigid_mpjpe,
)

RNG = np.random.default_rng(7)


def _poses(n: int = 8, j: int = 17) -> np.ndarray:
    g = RNG.normal(size=(n, j, 3)) * 300
    g[..., 2] += 5000
    return g


def test_mpjpe_hand_computed():
    gt = np.zeros((2, 3, 3))
    gt[:, 1] = [100.0, 0, 0]
    gt[:, 2] = [0, 100.0, 0]
    pred = gt.copy()
    pred[0, 1, 0] += 30.0  # 30 mm off
    pred[0, 2] += [0, 30.0, 40.0]  # 50 mm off
    pred[1] += 1000.0  # pure translation: removed by root alignment
    np.testing.assert_allclose(mpjpe(pred, gt), [(0 + 30 + 50) / 3, 0.0], atol=1e-9)
    np.testing.assert_allclose(joint_errors(pred, gt, "none")[1], [1000 * np.sqrt(3)] * 3)
    # another root joint
    np.testing.assert_allclose(mpjpe(pred, gt, root=1)[0], (30 + 0 + np.linalg.norm([30, 30, 40])) / 3)


def test_pa_mpjpe_zero_for_a_similarity_of_the_ground_truth():
    gt = _poses()
    R = Rotation.random(len(gt), random_state=5).as_matrix()
    pred = 1.7 * np.einsum("nik,njk->nji", R, gt) + RNG.normal(size=(len(gt), 1, 3)) * 1000
    np.testing.assert_allclose(pa_mpjpe(pred, gt), 0.0, atol=1e-8)
    assert (mpjpe(pred, gt) > 10).all()
    assert (rigid_mpjpe(pred, gt) > 10).all()  # scale 1.7 cannot be removed without scale
    # a rigid motion alone is removed by the rigid alignment
    rigid = np.einsum("nik,njk->nji", R, gt) + 300.0
    np.testing.assert_allclose(rigid_mpjpe(rigid, gt), 0.0, atol=1e-8)


def test_pa_mpjpe_matches_scipy_oracle():
    gt = _poses(12)
    pred = gt + RNG.normal(size=gt.shape) * 50
    pred = pred @ Rotation.from_euler("z", 20, degrees=True).as_matrix().T * 0.9
    expected = []
    for p, g in zip(pred, gt):
        a, b = p - p.mean(0), g - g.mean(0)
        R, sv = orthogonal_procrustes(a, b)
        aligned = sv / (a * a).sum() * a @ R + g.mean(0)
        expected.append(np.linalg.norm(aligned - g, axis=1).mean())
    np.testing.assert_allclose(pa_mpjpe(pred, gt), expected, rtol=1e-9)
    assert (pa_mpjpe(pred, gt) <= n_mpjpe(pred, gt) + 1e-9).all()  # more freedom, lower error


def test_n_mpjpe_removes_scale_only():
    gt = _poses()
    pred = 0.8 * (gt - gt[:, :1]) + 123.0
    np.testing.assert_allclose(n_mpjpe(pred, gt), 0.0, atol=1e-9)
    assert (mpjpe(pred, gt) > 1).all()
    # hand case: pred = 2·gt (root at origin) → s = 0.5 exactly
    g = np.array([[[0, 0, 0], [10.0, 0, 0], [0, 20.0, 0]]])
    np.testing.assert_allclose(n_mpjpe(2 * g, g), [0.0], atol=1e-12)


def test_group_errors_and_per_action():
    err = np.zeros((2, 17))
    err[:, 1] = [10.0, 20.0]  # r_hip
    err[:, 4] = [30.0, 40.0]  # l_hip
    err[:, 10] = [5.0, 7.0]  # head
    groups = group_errors(err)
    assert groups["hip"] == pytest.approx(25.0)
    assert groups["head"] == pytest.approx(6.0)
    assert groups["root"] == 0.0
    assert group_errors(err, {"mine": (1, 10)})["mine"] == pytest.approx((10 + 20 + 5 + 7) / 4)
    values = np.array([10.0, 20.0, 30.0, 100.0])
    actions = np.array(["Walk", "Walk", "Walk", "Sit"])
    table, mean = per_action_mean(values, actions)
    assert table == {"Sit": 100.0, "Walk": 20.0}
    assert mean == pytest.approx(60.0)  # mean over actions, not over frames (40)


def test_pck_and_auc_hand_computed():
    err = np.array([[0.0, 50.0, 100.0, 200.0]])
    np.testing.assert_allclose(pck_curve(err, [0.0, 50.0, 150.0]), [0.25, 0.5, 0.75])
    assert len(PCK_THRESHOLDS_MM) == 31 and PCK_THRESHOLDS_MM[-1] == 150.0
    gt = np.zeros((1, 4, 3))
    pred = gt.copy()
    pred[0, :, 0] = [0.0, 50.0, 100.0, 200.0]  # root 0 stays put
    np.testing.assert_allclose(pck_3d(pred, gt, threshold=150.0), [0.75])
    # AUC = mean over thresholds 0..150 of the fraction ≤ t: joints at 0 (31/31), 50 (21/31), 100 (11/31), 200 (0)
    assert auc_3d(pred, gt) == pytest.approx((31 + 21 + 11 + 0) / (4 * 31))


def test_vectorised_over_many_frames():
    gt = RNG.normal(size=(20000, 17, 3))
    pred = gt + 0.01
    assert mpjpe(pred, gt).shape == (20000,)
    assert pa_mpjpe(pred, gt).shape == (20000,)
    np.testing.assert_allclose(pa_mpjpe(pred, gt), 0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3))), ValueError, "gt: expected the shape of pred"),
        (lambda: mpjpe(np.zeros((17, 3)), np.zeros((17, 3))), ValueError, r"pred: expected shape \(N, J, 3\)"),
        (lambda: pa_mpjpe(np.full((1, 17, 3), np.nan), np.zeros((1, 17, 3))), ValueError, "pred: expected no NaN"),
        (lambda: mpjpe(np.zeros((1, 5, 3)), np.zeros((1, 5, 3)), root=5), ValueError, "root: expected"),
        (lambda: joint_errors(np.zeros((1, 5, 3)), np.zeros((1, 5, 3)), "umeyama"), ValueError, "align: expected"),
        (lambda: group_errors(np.zeros((2, 5))), ValueError, r"groups\['knee'\]"),
        (lambda: group_errors(np.zeros(5)), ValueError, r"errors: expected per-joint errors of shape \(N, J\)"),
        (lambda: per_action_mean(np.zeros(3), ["a", "b"]), ValueError, "actions: expected shape"),
        (lambda: per_action_mean(np.zeros(0), []), ValueError, "values: expected at least one frame"),
        (lambda: pck_curve(np.zeros((1, 3)), []), ValueError, "thresholds"),
        (lambda: pck_3d(np.zeros((1, 3, 3)), np.zeros((1, 3, 3)), threshold=-1), ValueError, "threshold"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
