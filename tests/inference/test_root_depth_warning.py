"""A solved root behind the camera (z <= 0) or implausibly far (> MAX_ROOT_DEPTH_MM) is warned about, naming the
image and the person; the pose is still returned."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import integral_pose.geometry.camera as camera
import integral_pose.inference.estimator as estimator
from integral_pose.inference.estimator import (
    MAX_ROOT_DEPTH_MM,
    PoseEstimator,
    RootDepthWarning,
    warn_implausible_roots,
)


def test_helper_flags_behind_and_far_only() -> None:
    roots = np.array([[0.0, 0.0, 4000.0], [10.0, 0.0, -6807.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2 * MAX_ROOT_DEPTH_MM]])
    with pytest.warns(RootDepthWarning) as record:
        flagged = warn_implausible_roots(roots, "photo")
    assert flagged == [1, 2, 3]
    texts = [str(w.message) for w in record]
    assert texts[0].startswith("photo: person 1: the solved root depth z = -6807 mm is behind the camera (z <= 0)")
    assert "person 2" in texts[1] and "behind the camera" in texts[1]
    assert "person 3" in texts[2] and "implausibly far (> 50000 mm)" in texts[2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_implausible_roots(roots[:1], "photo") == []  # 4 m: no warning
    assert MAX_ROOT_DEPTH_MM == 50_000.0


def test_estimator_warns_and_still_returns_the_pose(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    est = PoseEstimator.from_checkpoint(tiny_checkpoint, detector="full")
    image = np.full((120, 100, 3), 90, np.uint8)

    def behind(uv: np.ndarray, rel: np.ndarray, K: np.ndarray, weights: object = None) -> np.ndarray:
        return np.tile([0.0, 0.0, -6807.0], (uv.shape[0], 1))

    monkeypatch.setattr(camera, "solve_root_translation", behind)
    monkeypatch.setattr(estimator, "solve_root_translation", behind, raising=False)
    with pytest.warns(RootDepthWarning, match=r"^street: person 0: the solved root depth z = -6807 mm is behind"):
        (res,) = est.estimate([image], [None], [None], names=["street"])
    assert res.keypoints_3d.shape == (1, 18, 3)
