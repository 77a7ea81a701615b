"""``score_3d``: ground truth in → 0 mm out; a hand-computed displacement; the per-axis error."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.config.schema import Config
from integral_pose.engine.eval_score_3d import score_3d


def _pred_from_camera_joints(j3: np.ndarray, f: float = 1000.0, c: float = 500.0) -> dict[str, np.ndarray]:
    """A ``predict``-like dict whose image joints and depths are the pinhole projection of ``j3`` (N, 18, 3)."""
    n = len(j3)
    uv = f * j3[..., :2] / j3[..., 2:] + c
    return {
        "uv": uv,
        "z_rel_mm": j3[..., 2] - j3[:, :1, 2],
        "root_depth_mm": j3[:, 0, 2].copy(),
        "cam_f": np.full((n, 2), f),
        "cam_c": np.full((n, 2), c),
        "joints_3d_cam": j3.copy(),
        "coords": np.zeros((n, 18, 3)),
        "box": np.tile([400.0, 400.0, 200.0, 200.0], (n, 1)),
        "index": np.arange(n),
        "source": np.zeros(n, dtype=np.int64),
    }


@pytest.fixture
def gt() -> np.ndarray:
    rng = np.random.default_rng(1)
    j = rng.normal(0.0, 300.0, size=(4, 18, 3))
    j[..., 2] += 5000.0
    return j


def test_ground_truth_scores_zero(gt: np.ndarray) -> None:
    res = score_3d(_pred_from_camera_joints(gt), None, Config())
    assert res["num_samples"] == 4
    assert res["mpjpe"] == pytest.approx(0.0, abs=1e-6)
    assert res["pa_mpjpe"] == pytest.approx(0.0, abs=1e-6)
    assert all(v == pytest.approx(0.0, abs=1e-6) for v in res["axis_error"].values())


def test_one_joint_moved_sideways(gt: np.ndarray) -> None:
    moved = gt.copy()
    moved[:, 13, 0] += 170.0  # l_wrist 170 mm along camera x in every sample; the root stays
    pred = _pred_from_camera_joints(moved)
    pred["joints_3d_cam"] = gt
    res = score_3d(pred, None, Config())
    assert res["mpjpe"] == pytest.approx(170.0 / 17, rel=1e-9)  # one of the 17 scored joints is 170 mm off
    assert res["axis_error"]["x"] == pytest.approx(170.0 / 17, rel=1e-9)
    assert res["axis_error"]["y"] == pytest.approx(0.0, abs=1e-9)
    assert res["axis_error"]["z"] == pytest.approx(0.0, abs=1e-9)


def test_pose_scaled_about_the_root(gt: np.ndarray) -> None:
    """Every joint 10 % further from the root: MPJPE is 0.1 × the mean root distance of the 17 scored joints;
    the similarity (PA) and scale-only (N) fits undo it exactly."""
    scaled = gt[:, :1] + 1.1 * (gt - gt[:, :1])
    pred = _pred_from_camera_joints(scaled)
    pred["joints_3d_cam"] = gt
    res = score_3d(pred, None, Config())
    expected = 0.1 * np.linalg.norm(gt[:, :17] - gt[:, :1], axis=-1).mean()
    assert res["mpjpe"] == pytest.approx(expected, rel=1e-9)
    assert res["pa_mpjpe"] == pytest.approx(0.0, abs=1e-6)
    assert res["n_mpjpe"] == pytest.approx(0.0, abs=1e-6)


def test_no_intrinsics_is_an_error(gt: np.ndarray) -> None:
    pred = _pred_from_camera_joints(gt)
    pred["cam_f"][:] = 0.0
    with pytest.raises(ValueError, match="intrinsics"):
        score_3d(pred, None, Config())


AWAY = np.array([0.0, 0.0, 5000.0])  # mm: puts root-relative poses in front of the camera


def _challenge_pred(gt_rel: np.ndarray, patch: tuple[int, int] = (64, 64), k: float = 0.02) -> dict[str, np.ndarray]:
    """A challenge-record ``predict`` dict: no intrinsics (cam_f = 0); the normalised coordinates are the patch
    pose ``k · gt_rel`` (px, depth in patch px) around the patch centre."""
    pred = _pred_from_camera_joints(gt_rel + AWAY)
    pw, ph = patch
    pred["coords"] = np.stack([k * gt_rel[..., 0] / pw, k * gt_rel[..., 1] / ph, k * gt_rel[..., 2] / pw], -1)
    pred["joints_3d_cam"] = gt_rel.copy()
    pred["cam_f"][:] = 0.0
    pred["cam_c"][:] = 0.0
    return pred


def test_challenge_records_without_intrinsics_are_scored_with_bone_rescale(gt: np.ndarray) -> None:
    from integral_pose.config.schema import DataConfig, EvalConfig
    from integral_pose.skeletons import H36M_18

    rel = gt - gt[:, :1]
    rel[:, 17] = 0.5 * (rel[:, 11] + rel[:, 14])
    rel *= 4502.881 / H36M_18.bone_lengths(rel).sum(-1)[:, None, None]  # each pose: total bone length 4502.881
    cfg = Config(data=DataConfig(patch_width=64, patch_height=64), eval=EvalConfig(bone_length_rescale=4502.881))
    res = score_3d(_challenge_pred(rel), None, cfg)
    assert res["num_samples"] == 4 and res["root_depth"] == "bone-length rescale"
    for key in ("mpjpe", "align_mpjpe", "pa_mpjpe"):
        assert res[key] == pytest.approx(0.0, abs=1e-6)
    assert "solved_root" not in res  # needs intrinsics


def test_align_metric_is_rigid_and_fits_the_thorax() -> None:
    from integral_pose.engine.eval_score_3d import align_joint_errors

    rng = np.random.default_rng(5)
    g = rng.normal(0.0, 300.0, (1, 18, 3))
    # a rigid motion of the ground truth: the "align" error is 0, plain MPJPE is not
    a = 0.4
    R = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    moved = g @ R.T + [100.0, -50.0, 30.0]
    assert align_joint_errors(moved, g, np.arange(17)).max() == pytest.approx(0.0, abs=1e-9)
    assert score_3d(_pred_from_camera_joints(moved + AWAY) | {"joints_3d_cam": g + AWAY},
                    None, Config())["mpjpe"] > 10.0  # fmt: skip
    # only the thorax (joint 17, not scored) moves, radially from the centroid by d: the rotation stays identity
    # and the fitted translation is -d/18, so each of the 17 scored joints is |d|/18 off — because the fit uses
    # all 18 joints (a fit on the 17 would give 0). The challenge variant compares without re-centring.
    d = 0.5 * (g[0, 17] - g[0].mean(0))
    p = g.copy()
    p[0, 17] += d
    e = align_joint_errors(p, g, np.arange(17), recentre=False)
    np.testing.assert_allclose(e, np.linalg.norm(d) / 18.0, rtol=1e-9)
