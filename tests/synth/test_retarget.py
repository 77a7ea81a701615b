"""Retargeting to Human3.6M-18: heights, floor contact, the thorax rule, jitter that keeps a valid skeleton."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.skeletons import H36M_18
from integral_pose.synth.retarget import (
    BODY_POINTS,
    BONE_GROUPS,
    CMU_ACTIONS,
    CMU_CLIPS,
    BodyParams,
    load_clip_library,
    pose_world_mm,
    sample_body_params,
    yup_to_zup,
)

J = {n: i for i, n in enumerate(BODY_POINTS)}


@pytest.fixture(scope="module")
def library():  # type: ignore[no-untyped-def]
    return load_clip_library()


def test_library_has_all_clips(library) -> None:  # type: ignore[no-untyped-def]
    assert sum(c.source == "cmu" for c in library.values()) == 3
    assert sum(c.source == "deepmimic" for c in library.values()) == 15
    assert BODY_POINTS[:18] == H36M_18.joint_names


def test_cmu_clips_have_readable_names_and_keep_their_ids(library) -> None:  # type: ignore[no-untyped-def]
    cmu = {name: (c.clip_id, c.file, c.trial) for name, c in library.items() if c.source == "cmu"}
    assert cmu == {
        "cmu_walk_1": ("131_01", "cmu_mocap/131_01.bvh", 1),
        "cmu_walk_2": ("131_02", "cmu_mocap/131_02.bvh", 2),
        "cmu_hop": ("131_03", "cmu_mocap/131_03.bvh", 3),
    }
    assert {CMU_ACTIONS[c] for c in CMU_CLIPS} == set(cmu)
    walk = library["walk"]
    assert (walk.name, walk.clip_id, walk.file, walk.trial) == ("walk", "walk", "deepmimic/humanoid3d_walk.txt", 0)
    assert all(name == c.name for name, c in library.items())


def test_yup_to_zup_is_a_rotation() -> None:
    m = yup_to_zup(np.eye(3))  # rows: images of the unit vectors
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(m), 1.0)
    np.testing.assert_allclose(yup_to_zup(np.array([0.0, 1.0, 0.0])), [0.0, 0.0, 1.0])


def test_cmu_stature_and_floor(library) -> None:  # type: ignore[no-untyped-def]
    pts = pose_world_mm(library["cmu_walk_1"].rig, np.arange(0, 994, 7))
    feet = pts[:, [J["l_ankle"], J["r_ankle"], J["l_toe"], J["r_toe"]], 2].min(axis=1)
    stature = pts[0, J["head"], 2] - feet[0]
    assert 1450.0 < stature < 1800.0, stature  # CMU subject 131 after the 0.056444 m unit factor
    # walking: the lowest foot point stays near the floor in every frame
    assert np.abs(feet).max() < 120.0, np.abs(feet).max()
    assert np.median(feet) < 80.0


def test_deepmimic_height_and_floor(library) -> None:  # type: ignore[no-untyped-def]
    pts = pose_world_mm(library["walk"].rig, np.arange(library["walk"].num_frames))
    ankle = pts[0, [J["l_ankle"], J["r_ankle"]], 2].min()
    head = pts[0, J["head_center"], 2]
    assert 1380.0 < head - ankle < 1520.0, head - ankle  # ≈1.45 m head to ankle
    feet = pts[:, [J["l_ankle"], J["r_ankle"], J["l_toe"], J["r_toe"]], 2].min(axis=1)
    assert np.abs(feet).max() < 100.0


def test_thorax_is_mean_of_shoulders(library) -> None:  # type: ignore[no-untyped-def]
    for name in ("cmu_hop", "cartwheel"):
        pts = pose_world_mm(library[name].rig, np.arange(0, 20))
        np.testing.assert_allclose(pts[:, 17], 0.5 * (pts[:, 11] + pts[:, 14]), atol=1e-9)


@pytest.mark.parametrize("name", ["cmu_walk_2", "dance_a"])
def test_bone_jitter_scales_bones_symmetrically(library, name: str) -> None:  # type: ignore[no-untyped-def]
    rig = library[name].rig
    bone = [1.0] * len(BONE_GROUPS)
    bone[BONE_GROUPS.index("shin")] = 1.04
    bone[BONE_GROUPS.index("upper_arm")] = 0.96
    body = BodyParams(scale=1.08, bone=tuple(bone))
    frames = np.arange(0, 20, 3)
    ref = pose_world_mm(rig, frames)
    jit = pose_world_mm(rig, frames, body)

    def ratio(a: str, b: str) -> np.ndarray:
        return np.linalg.norm(jit[:, J[a]] - jit[:, J[b]], axis=-1) / np.linalg.norm(
            ref[:, J[a]] - ref[:, J[b]], axis=-1
        )

    for s in ("l", "r"):
        np.testing.assert_allclose(ratio(f"{s}_knee", f"{s}_ankle"), 1.08 * 1.04, rtol=1e-9)
        np.testing.assert_allclose(ratio(f"{s}_shoulder", f"{s}_elbow"), 1.08 * 0.96, rtol=1e-9)
        np.testing.assert_allclose(ratio(f"{s}_elbow", f"{s}_wrist"), 1.08, rtol=1e-9)


def test_random_body_params_keep_feet_grounded(library) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    rig = library["cmu_walk_1"].rig
    for _ in range(5):
        body = sample_body_params(rng)
        assert 0.9 <= body.scale <= 1.1 and all(0.95 <= b <= 1.05 for b in body.bone)
        pts = pose_world_mm(rig, np.arange(0, 994, 50), body)
        feet = pts[:, [J["l_ankle"], J["r_ankle"], J["l_toe"], J["r_toe"]], 2].min(axis=1)
        assert np.abs(feet).max() < 150.0
