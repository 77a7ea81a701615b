"""MPII PCKh: hand-computed cases, visibility handling, the benchmark mean, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.eval.pckh import HEAD_SIZE_FACTOR, MPII_PCKH_GROUPS, head_sizes_from_boxes, pckh
from integral_pose.skeletons import MPII_16


def test_head_size_uses_the_0_6_factor():
    boxes = np.array([[10.0, 20.0, 40.0, 60.0]])  # diagonal 50 px
    np.testing.assert_allclose(head_sizes_from_boxes(boxes), [30.0])
    assert HEAD_SIZE_FACTOR == 0.6


def test_pckh_hand_computed():
    gt = np.zeros((2, 16, 2))
    vis = np.ones((2, 16))
    pred = gt.copy()
    hs = np.array([60.0, 100.0])  # thresholds 30 px and 50 px at PCKh@0.5
    rw = MPII_16.index("r_wrist")
    lw = MPII_16.index("l_wrist")
    pred[:, rw, 0] = 40.0  # wrong in frame 0 (40 > 30), right in frame 1 (40 ≤ 50)
    pred[:, lw, 1] = 30.0  # exactly on the threshold in frame 0: counted as correct
    r = pckh(pred, gt, vis, hs)
    assert r["per_joint"][rw] == 0.5 and r["per_joint"][lw] == 1.0
    assert r["groups"]["wrist"] == pytest.approx(0.75)
    assert r["mean"] == pytest.approx(1 - 1 / 28)  # 14 joints × 2 frames, one miss
    assert r["correct"].shape == (2, 16) and r["count"].tolist() == [2] * 16


def test_pckh_visibility_and_excluded_joints():
    gt = np.zeros((2, 16, 2))
    pred = gt + 1000.0  # everything wrong
    vis = np.zeros((2, 16))
    pelvis, thorax, head = MPII_16.index("pelvis"), MPII_16.index("thorax"), MPII_16.index("head_top")
    vis[:, [pelvis, thorax, head]] = 1
    pred[:, [pelvis, thorax]] = 0.0  # right, but not part of the mean
    vis[1, head] = 0
    r = pckh(pred, gt, vis, np.array([10.0, 10.0]))
    assert r["count"][head] == 1 and r["per_joint"][head] == 0.0
    assert r["per_joint"][pelvis] == 1.0
    assert r["mean"] == 0.0
    assert np.isnan(r["per_joint"][MPII_16.index("r_ankle")])  # never visible
    assert np.isnan(r["groups"]["ankle"])
    assert set(MPII_PCKH_GROUPS) == {"head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gt": np.zeros((1, 17, 2))}, r"gt: expected shape \(N, 16, 2\)"),
        ({"pred": np.zeros((2, 16, 2))}, "pred: expected shape"),
        ({"pred": np.full((1, 16, 2), np.nan)}, "pred: expected no NaN"),
        ({"vis": np.ones((1, 15))}, "vis: expected shape"),
        ({"head_sizes": np.zeros(1)}, "head_sizes: expected finite values > 0"),
        ({"head_sizes": np.ones(2)}, r"head_sizes: expected shape \(1,\)"),
        ({"threshold": 0.0}, "threshold"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"pred": np.zeros((1, 16, 2)), "gt": np.zeros((1, 16, 2)), "vis": np.ones((1, 16)), "head_sizes": np.ones(1)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        pckh(**args)


def test_bad_head_boxes():
    with pytest.raises(ValueError, match=r"head_boxes: expected shape \(N, 4\)"):
        head_sizes_from_boxes(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-degenerate"):
        head_sizes_from_boxes(np.array([[5.0, 5.0, 5.0, 5.0]]))
