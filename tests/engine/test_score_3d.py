"""``score_3d``: ground truth in → 0 mm out; a hand-computed displacement; the per-axis error."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.config.schema import Config
from integral_pose.engine.evaluator import score_3d


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


def test_no_intrinsics_is_an_error(gt: np.ndarray) -> None:
    pred = _pred_from_camera_joints(gt)
    pred["cam_f"][:] = 0.0
    with pytest.raises(ValueError, match="intrinsics"):
        score_3d(pred, None, Config())
