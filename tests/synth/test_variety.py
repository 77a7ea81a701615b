"""Pose variety of on-the-fly samples: mirroring, per-limb length jitter, camera pitch."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.synth.render import PoseVariety, jitter_limbs, mirror_points, pitch_rotation
from integral_pose.synth.retarget import BODY_POINTS

IDX = {n: i for i, n in enumerate(BODY_POINTS)}


def _points() -> np.ndarray:
    return np.random.default_rng(0).normal(0.0, 300.0, size=(len(BODY_POINTS), 3))


def test_mirror_swaps_sides_and_negates_x() -> None:
    p = _points()
    m = mirror_points(p)
    np.testing.assert_allclose(m[IDX["l_wrist"]], p[IDX["r_wrist"]] * [-1, 1, 1])
    np.testing.assert_allclose(m[IDX["head"]], p[IDX["head"]] * [-1, 1, 1])
    np.testing.assert_allclose(mirror_points(m), p)


def test_limb_jitter_scales_segments_and_carries_distal_points() -> None:
    p = _points()
    f = np.ones(8)
    f[0] = 1.2  # left upper arm (shoulder → elbow)
    out = jitter_limbs(p, f)
    upper = np.linalg.norm(out[IDX["l_elbow"]] - out[IDX["l_shoulder"]])
    assert upper == pytest.approx(1.2 * np.linalg.norm(p[IDX["l_elbow"]] - p[IDX["l_shoulder"]]))
    # the forearm moves with the elbow and keeps its length; the other side is untouched
    np.testing.assert_allclose(out[IDX["l_wrist"]] - out[IDX["l_elbow"]], p[IDX["l_wrist"]] - p[IDX["l_elbow"]])
    np.testing.assert_allclose(out[IDX["r_wrist"]], p[IDX["r_wrist"]])
    np.testing.assert_allclose(jitter_limbs(p, np.ones(8)), p)


def test_pitch_rotation_is_a_rotation_about_x() -> None:
    r = pitch_rotation(20.0)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(r @ [1.0, 0.0, 0.0], [1.0, 0.0, 0.0])
    assert np.linalg.det(r) == pytest.approx(1.0)


def test_variety_validation() -> None:
    with pytest.raises(ValueError, match="mirror_prob"):
        PoseVariety(mirror_prob=1.5)
    with pytest.raises(ValueError, match="scale_range"):
        PoseVariety(scale_range=(1.2, 1.0))
