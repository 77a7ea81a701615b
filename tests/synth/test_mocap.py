"""BVH / DeepMimic readers and forward kinematics: hand-computed cases, scipy oracles, the shipped clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from integral_pose.synth.mocap import (
    DEEPMIMIC_JOINTS,
    euler_to_matrix,
    forward_kinematics,
    quat_to_matrix,
    read_bvh,
    read_deepmimic,
)

TWO_JOINT_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Knee
  {
    OFFSET 0 -2 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -3 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
1 2 3 90 0 0 0 0 0
0 0 0 0 0 0 90 0 0
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_two_joint_bvh_hand_computed(tmp_path: Path) -> None:
    kin = read_bvh(_write(tmp_path, "two.bvh", TWO_JOINT_BVH))
    assert kin.names == ("Hips", "Knee", "Knee_end")
    assert kin.frame_time == 0.5
    pos = forward_kinematics(kin)
    # frame 0: root at (1, 2, 3), rotated 90° about z: local -y → world +x
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [3, 2, 3], [6, 2, 3]], atol=1e-12)
    # frame 1: knee rotated 90° about z: the end site's (0, -3, 0) → (3, 0, 0) relative to the knee
    np.testing.assert_allclose(pos[1], [[0, 0, 0], [0, -2, 0], [3, -2, 0]], atol=1e-12)


@pytest.mark.parametrize("order", ["ZYX", "ZXY", "XYZ", "YXZ"])
def test_euler_matches_scipy_intrinsic(order: str) -> None:
    rng = np.random.default_rng(0)
    ang = rng.uniform(-180, 180, size=(5, 3))
    ref = Rotation.from_euler(order, ang, degrees=True).as_matrix()  # upper case = intrinsic = R_a @ R_b @ R_c
    np.testing.assert_allclose(euler_to_matrix(ang, order), ref, atol=1e-12)


def test_quat_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    q = rng.normal(size=(6, 4))
    ref = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()  # scipy is x, y, z, w
    np.testing.assert_allclose(quat_to_matrix(q), ref, atol=1e-12)


def test_shipped_clips_have_constant_bone_lengths(assets_dir: Path) -> None:
    clips = [read_bvh(assets_dir / "cmu_mocap" / "131_01.bvh")]
    dm = assets_dir / "deepmimic"
    clips += [read_deepmimic(dm / f"humanoid3d_{n}.txt", dm / "humanoid.urdf") for n in ("walk", "cartwheel", "crawl")]
    for kin in clips:
        pos = forward_kinematics(kin)
        bones = np.linalg.norm(pos[:, 1:] - pos[:, kin.parents[1:]], axis=-1)  # (F, J-1)
        rest = np.linalg.norm(kin.offsets[1:], axis=-1)
        np.testing.assert_allclose(bones, np.broadcast_to(rest, bones.shape), rtol=1e-6, atol=1e-9)
        assert np.ptp(bones, axis=0).max() <= 1e-6 * max(rest.max(), 1e-9)


# ---------------------------------------------------------------------------------------------- DeepMimic
def _urdf(joints: dict[str, tuple[str, str, tuple[float, float, float], str]]) -> str:
    parts = ['<robot name="h">']
    links = {"root"} | {c for _, c, _, _ in joints.values()}
    parts += [f'<link name="{n}"/>' for n in sorted(links)]
    for name, (parent, child, xyz, jtype) in joints.items():
        parts.append(
            f'<joint name="{name}" type="{jtype}"><parent link="{parent}"/><child link="{child}"/>'
            f'<origin rpy="0 0 0" xyz="{xyz[0]} {xyz[1]} {xyz[2]}"/><axis xyz="0 0 1"/></joint>'
        )
    parts.append("</robot>")
    return "\n".join(parts)


def _toy_humanoid() -> dict[str, tuple[str, str, tuple[float, float, float], str]]:
    j: dict[str, tuple[str, str, tuple[float, float, float], str]] = {
        "chest": ("root", "chest", (0.0, 4.0, 0.0), "spherical"),
        "neck": ("chest", "neck", (0.0, 2.0, 0.0), "spherical"),
    }
    for side, z in (("right", 1.0), ("left", -1.0)):
        j[f"{side}_hip"] = ("root", f"{side}_hip", (0.0, 0.0, z), "spherical")
        j[f"{side}_knee"] = (f"{side}_hip", f"{side}_knee", (0.0, -4.0, 0.0), "revolute")
        j[f"{side}_ankle"] = (f"{side}_knee", f"{side}_ankle", (0.0, -4.0, 0.0), "spherical")
        j[f"{side}_shoulder"] = ("chest", f"{side}_shoulder", (0.0, 2.0, 2 * z), "spherical")
        j[f"{side}_elbow"] = (f"{side}_shoulder", f"{side}_elbow", (0.0, -2.0, 0.0), "revolute")
        j[f"{side}_wrist"] = (f"{side}_elbow", f"{side}_wrist", (0.0, -2.0, 0.0), "fixed")
    return j


def _frame(root_q: list[float], chest_q: list[float], knee: float) -> list[float]:
    fr = [0.1, 1.0, 2.0, 3.0, *root_q]
    for name, width in DEEPMIMIC_JOINTS:
        if name == "chest":
            fr += chest_q
        elif width == 4:
            fr += [1.0, 0.0, 0.0, 0.0]
        else:
            fr.append(knee if name == "right_knee" else 0.0)
    return fr


def test_deepmimic_hand_computed(tmp_path: Path) -> None:
    urdf = _write(tmp_path, "h.urdf", _urdf(_toy_humanoid()))
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    frames = [
        _frame([1, 0, 0, 0], [1, 0, 0, 0], 0.0),
        _frame([c, 0, s, 0], [c, 0, 0, s], np.pi / 2),  # root 90° about y; chest 90° about z; right knee 90°
    ]
    clip = _write(tmp_path, "humanoid3d_toy.txt", json.dumps({"Loop": "none", "Frames": frames}))
    kin = read_deepmimic(clip, urdf, scale=0.25)
    assert kin.name == "toy"
    pos = forward_kinematics(kin)
    ix = kin.index
    # frame 0: rest pose × 0.25, root at (1, 2, 3)
    np.testing.assert_allclose(pos[0, ix("neck")], [1.0, 2.0 + 1.5, 3.0], atol=1e-12)
    np.testing.assert_allclose(pos[0, ix("right_ankle")], [1.0, 0.0, 3.25], atol=1e-12)
    # frame 1: root yaw 90° about y maps local +z → world +x; chest 90° about z maps (0, 2, 0)·0.25 → (−0.5, 0, 0)
    # in the chest frame, then the root rotation (about y) leaves x → −z.
    np.testing.assert_allclose(pos[1, ix("chest")], [1.0, 3.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(pos[1, ix("neck")], [1.0, 3.0, 3.5], atol=1e-12)
    # right knee hinge 90° about z: the shin (0, -1, 0) becomes (1, 0, 0) in the hip frame → (0, 0, -1) in world
    np.testing.assert_allclose(pos[1, ix("right_knee")], [1.25, 1.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(pos[1, ix("right_ankle")], [1.25, 1.0, 2.0], atol=1e-12)


# ---------------------------------------------------------------------------------------------- bad input
def test_bvh_bad_channel_count(tmp_path: Path) -> None:
    bad = TWO_JOINT_BVH.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 4 Zrotation Xrotation Yrotation")
    with pytest.raises(ValueError, match=r"bad\.bvh:9: CHANNELS declares 4"):
        read_bvh(_write(tmp_path, "bad.bvh", bad))


def test_bvh_unknown_channel(tmp_path: Path) -> None:
    bad = TWO_JOINT_BVH.replace("Zrotation Xrotation Yrotation", "Zrotation Xrotation Wrotation")
    with pytest.raises(ValueError, match=r"bad\.bvh:9: unknown channel name 'Wrotation'"):
        read_bvh(_write(tmp_path, "bad.bvh", bad))


def test_bvh_truncated_motion(tmp_path: Path) -> None:
    bad = TWO_JOINT_BVH.replace("Frames: 2", "Frames: 3")
    with pytest.raises(ValueError, match=r"bad\.bvh:\d+: motion block truncated: 'Frames: 3' but only 2"):
        read_bvh(_write(tmp_path, "bad.bvh", bad))


def test_bvh_wrong_values_per_frame(tmp_path: Path) -> None:
    bad = TWO_JOINT_BVH.replace("0 0 0 0 0 0 90 0 0\n", "0 0 0 0 0 0 90 0\n")
    with pytest.raises(ValueError, match=r"bad\.bvh:20: frame 1 has 8 values, expected 9"):
        read_bvh(_write(tmp_path, "bad.bvh", bad))


def test_bvh_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.bvh"):
        read_bvh(tmp_path / "nope.bvh")


def test_deepmimic_wrong_frame_length(tmp_path: Path, assets_dir: Path) -> None:
    frames = [_frame([1, 0, 0, 0], [1, 0, 0, 0], 0.0), _frame([1, 0, 0, 0], [1, 0, 0, 0], 0.0)[:-1]]
    clip = _write(tmp_path, "c.txt", json.dumps({"Frames": frames}))
    with pytest.raises(ValueError, match=r"c\.txt: Frames\[1\] has 43 values, expected 44"):
        read_deepmimic(clip, assets_dir / "deepmimic" / "humanoid.urdf")


def test_deepmimic_not_json(tmp_path: Path, assets_dir: Path) -> None:
    clip = _write(tmp_path, "c.txt", "{not json")
    with pytest.raises(ValueError, match=r"c\.txt: not valid JSON"):
        read_deepmimic(clip, assets_dir / "deepmimic" / "humanoid.urdf")


def test_deepmimic_urdf_missing_joint(tmp_path: Path) -> None:
    joints = _toy_humanoid()
    del joints["left_elbow"], joints["left_wrist"]
    urdf = _write(tmp_path, "h.urdf", _urdf(joints))
    clip = _write(tmp_path, "c.txt", json.dumps({"Frames": [_frame([1, 0, 0, 0], [1, 0, 0, 0], 0.0)]}))
    with pytest.raises(ValueError, match=r"h\.urdf: URDF lacks joint\(s\) \['left_elbow', 'left_wrist'\]"):
        read_deepmimic(clip, urdf)
