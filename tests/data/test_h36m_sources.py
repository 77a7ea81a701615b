"""Human3.6M readers on tiny fixtures written in the original and the JSON layouts."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.data.sources.h36m import (
    H36M32_TO_17,
    action_id,
    load_camera,
    parse_subjects,
    protocol_subjects,
    read_json_layout,
    read_matlab_meta,
    read_original_layout,
    write_matlab_meta,
)

VIDEOS = [(1, 2, 1, 1), (1, 14, 2, 2), (9, 12, 1, 3)]  # (subject, action, subaction, camera)
N_FRAMES = 10


def _poses(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.array([0.0, 0.0, 900.0]) + rng.normal(0, 300, (32, 3)) * [1, 1, 1.5]
    drift = np.linspace(0, 200, N_FRAMES)[:, None, None] * np.array([1.0, 0.5, 0.0])
    return base[None] + drift + rng.normal(0, 5, (N_FRAMES, 32, 3))


def _write_original(root: Path) -> dict[tuple[int, int, int, int], np.ndarray]:
    out = {}
    for k, (s, a, b, ca) in enumerate(VIDEOS):
        folder = f"s_{s:02d}_act_{a:02d}_subact_{b:02d}_ca_{ca:02d}"
        cam = load_camera(s, ca)
        poses = _poses(k)
        out[(s, a, b, ca)] = poses
        lines = [str(N_FRAMES), f"imgsize {cam['size'][0]} {cam['size'][1]}"]
        lines.append("R " + " ".join(f"{v:.12f}" for v in cam["R"].reshape(-1)))
        lines.append("T " + " ".join(f"{v:.9f}" for v in cam["T"]))
        for tag, key in (("f", "f"), ("c", "c"), ("k", "k"), ("p", "p")):
            lines.append(tag + " " + " ".join(f"{v:.12f}" for v in cam[key]))
        lines.append("jt " + " ".join(str(j + 1) for j in H36M32_TO_17))
        lines += ["pose " + " ".join(f"{v:.6f}" for v in poses[i].reshape(-1)) for i in range(N_FRAMES)]
        d = root / "annot" / folder
        d.mkdir(parents=True)
        (d / "matlab_meta.txt").write_text("\n".join(lines) + "\n")
    return out


def _write_json(root: Path, poses: dict[tuple[int, int, int, int], np.ndarray]) -> None:
    ann = root / "annotations"
    ann.mkdir(parents=True)
    img_id = 0
    for subj in sorted({v[0] for v in VIDEOS}):
        images, anns, joints, cams = [], [], {}, {}
        for (s, a, b, ca), p in poses.items():
            if s != subj:
                continue
            cam = load_camera(s, ca)
            Rj = cam["R"].T  # world -> camera
            cams[str(ca)] = {
                "R": Rj.tolist(),
                "t": (-Rj @ cam["T"]).tolist(),
                "f": cam["f"].tolist(),
                "c": cam["c"].tolist(),
            }
            folder = f"s_{s:02d}_act_{a:02d}_subact_{b:02d}_ca_{ca:02d}"
            for fr in range(N_FRAMES):
                images.append({
                    "id": img_id, "file_name": f"{folder}/{folder}_{fr + 1:06d}.jpg", "width": cam["size"][0],
                    "height": cam["size"][1], "subject": s, "action_name": "x", "action_idx": a, "subaction_idx": b,
                    "cam_idx": ca, "frame_idx": fr,
                })  # fmt: skip
                anns.append(
                    {"id": img_id, "image_id": img_id, "bbox": [100, 100, 300, 500], "keypoints_vis": [True] * 17}
                )
                joints.setdefault(str(a), {}).setdefault(str(b), {})[str(fr)] = p[fr][list(H36M32_TO_17)].tolist()
                img_id += 1
        (ann / f"Human36M_subject{subj}_data.json").write_text(json.dumps({"images": images, "annotations": anns}))
        (ann / f"Human36M_subject{subj}_camera.json").write_text(json.dumps(cams))
        (ann / f"Human36M_subject{subj}_joint_3d.json").write_text(json.dumps(joints))


def test_original_layout_labels_against_independent_oracles(tmp_path: Path) -> None:
    poses = _write_original(tmp_path)
    recs = read_original_layout(tmp_path, ["S1"], split="train", stride=5)
    assert len(recs) == 4 and recs.header.joint_set == "h36m18"
    assert recs.image_path[1] == "images/s_01_act_02_subact_01_ca_01/s_01_act_02_subact_01_ca_01_000006.jpg"
    assert recs.frame.tolist() == [0, 5, 0, 5] and recs.camera_id.tolist()[2] == "55011271"
    assert recs.action.tolist()[2] == "Walking" and recs.subaction.tolist() == [1, 1, 2, 2]
    cam = load_camera(1, 1)
    world = poses[(1, 2, 1, 1)][5][list(H36M32_TO_17)]
    Rj = cam["R"].T
    cam_pts = world @ Rj.T + (-Rj @ cam["T"])  # the JSON layout's X_cam = R X + t
    np.testing.assert_allclose(recs.joints_3d_cam[1, :17], cam_pts, atol=1e-2)
    np.testing.assert_allclose(recs.joints_3d_cam[1, 17], 0.5 * (cam_pts[11] + cam_pts[14]), atol=1e-2)
    uv, _ = cv2.projectPoints(
        world,
        cv2.Rodrigues(Rj)[0],
        -Rj @ cam["T"],
        np.array([[cam["f"][0], 0, cam["c"][0]], [0, cam["f"][1], cam["c"][1]], [0, 0, 1]]),
        None,
    )
    np.testing.assert_allclose(recs.joints_2d[1, :17], uv[:, 0], atol=1e-2)
    # Square box: centred on the pelvis projection, side f * 2000 / Z.
    z = cam_pts[0, 2]
    cx, cy = recs.box[1, :2] + recs.box[1, 2:] / 2
    np.testing.assert_allclose([cx, cy], uv[0, 0], atol=1e-2)
    np.testing.assert_allclose(recs.box[1, 2:], cam["f"] * 2000.0 / z, rtol=1e-5)


def test_json_layout_matches_original_layout(tmp_path: Path) -> None:
    poses = _write_original(tmp_path)
    _write_json(tmp_path, poses)
    a = read_original_layout(tmp_path, [1, 9], stride=2)
    b = read_json_layout(tmp_path, [1, 9], stride=2)
    assert a.image_path.tolist() == b.image_path.tolist() and len(a) == 15
    np.testing.assert_allclose(a.joints_3d_cam, b.joints_3d_cam, atol=1e-2)
    np.testing.assert_allclose(a.joints_2d, b.joints_2d, atol=1e-3)
    np.testing.assert_allclose(a.cam_T, b.cam_T, atol=1e-2)
    c = read_json_layout(tmp_path, [9], box_mode="annotation", cameras=[3])
    np.testing.assert_allclose(
        c.box[0], [100 - 300 * (1.25 / 1.2 - 1) / 2, 100 - 500 * (1.25 / 1.2 - 1) / 2, 312.5, 520.833333], rtol=1e-5
    )
    t = read_json_layout(tmp_path, [9], box_mode="tight")
    assert (t.box[:, 2] > 0).all()


def test_random_frames_per_video_is_seeded(tmp_path: Path) -> None:
    _write_original(tmp_path)
    a = read_original_layout(tmp_path, [1, 9], frames_per_video=3, seed=5)
    b = read_original_layout(tmp_path, [1, 9], frames_per_video=3, seed=5)
    c = read_original_layout(tmp_path, [1, 9], frames_per_video=3, seed=6)
    assert len(a) == 9 and a.image_path.tolist() == b.image_path.tolist()
    assert a.image_path.tolist() != c.image_path.tolist()


def test_matlab_meta_writer_round_trip(tmp_path: Path) -> None:
    _write_original(tmp_path)
    src = tmp_path / "annot" / "s_01_act_02_subact_01_ca_01" / "matlab_meta.txt"
    meta = read_matlab_meta(src)
    write_matlab_meta(tmp_path / "copy.txt", meta)
    again = read_matlab_meta(tmp_path / "copy.txt")
    np.testing.assert_array_equal(again.joints_world, meta.joints_world)
    np.testing.assert_array_equal(again.R, meta.R)
    assert again.joint_index.tolist() == list(H36M32_TO_17)


def test_ids_and_protocols() -> None:
    assert parse_subjects(["S9", 1, "s11"]) == (1, 9, 11)
    assert action_id("TakingPhoto") == action_id("Photo") == 12
    assert action_id("WalkingDog 1") == 15
    assert protocol_subjects(1, "train") == (1, 5, 6, 7, 8, 9) and protocol_subjects(2, "test") == (9, 11)
    with pytest.raises(ValueError, match="S3"):
        parse_subjects(["S3"])
    with pytest.raises(ValueError, match="Dancing"):
        action_id("Dancing")
    with pytest.raises(ValueError, match="protocol"):
        protocol_subjects(3, "train")


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="annot"):
        read_original_layout(tmp_path, [1])
    _write_original(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        read_original_layout(tmp_path, [5])
    meta = tmp_path / "annot" / "s_09_act_12_subact_01_ca_03" / "matlab_meta.txt"
    lines = meta.read_text().splitlines()
    meta.write_text("\n".join([*lines[:12], "pose 1 2 3", *lines[13:]]) + "\n")
    with pytest.raises(ValueError, match=r"matlab_meta\.txt: line 13 \(pose of frame 4\) has 3 numbers, expected 96"):
        read_original_layout(tmp_path, [9])
    meta.write_text("\n".join(lines[:11]) + "\n")
    with pytest.raises(ValueError, match="declares 10 frames but has 2"):
        read_original_layout(tmp_path, [9])
    (tmp_path / "convert_info.json").write_text(json.dumps({"stride": 5}))
    with pytest.raises(ValueError, match="stride"):
        read_original_layout(tmp_path, [1], stride=2)
    bad = tmp_path / "annot" / "s_01_act_01_subact_01_ca_01"
    bad.mkdir()
    with pytest.raises(ValueError, match="unknown action id 1"):
        read_original_layout(tmp_path, [1], stride=5)


def test_json_bad_inputs(tmp_path: Path) -> None:
    poses = _write_original(tmp_path)
    _write_json(tmp_path, poses)
    f = tmp_path / "annotations" / "Human36M_subject9_data.json"
    d = json.loads(f.read_text())
    del d["images"][2]["cam_idx"]
    f.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"images\[2\]: missing key 'cam_idx'"):
        read_json_layout(tmp_path, [9])
    (tmp_path / "annotations" / "Human36M_subject1_joint_3d.json").write_text("{}")
    with pytest.raises(ValueError, match="no joints for action 2"):
        read_json_layout(tmp_path, [1])
    (tmp_path / "annotations" / "Human36M_subject1_camera.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_json_layout(tmp_path, [1])
