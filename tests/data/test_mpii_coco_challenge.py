"""MPII, COCO and ECCV'18 challenge readers on fixtures written in their published formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.data.sources.coco import read_coco
from integral_pose.data.sources.common import apply_detector_boxes, image_size, load_detector_boxes
from integral_pose.data.sources.h36m_challenge import (
    fit_similarity_2d,
    pixels_per_mm,
    read_challenge,
    rescale_to_bone_length,
)
from integral_pose.data.sources.mpii import read_gt_valid_mat, read_mpii
from integral_pose.skeletons import H36M_18


def _mpii_root(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    (tmp_path / "annot").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "000000001.jpg"), np.zeros((300, 400, 3), np.uint8))
    joints = [[100 + 5 * k, 50 + 10 * k] for k in range(16)]
    joints[9] = [-1, -1]
    entry = {"image": "000000001.jpg", "center": [201.0, 151.0], "scale": 1.2, "joints": joints,
             "joints_vis": [1] * 9 + [0] + [1] * 6}  # fmt: skip
    (tmp_path / "annot" / "train.json").write_text(json.dumps([entry, {**entry, "scale": 0.5}]))
    return tmp_path


def test_mpii_conventions_and_mapping(tmp_path: Path) -> None:
    root = _mpii_root(tmp_path)
    r = read_mpii(root, "train")
    assert len(r) == 2 and r.header.joint_set == "h36m18" and not r.header.has_3d
    side = 1.2 * 200 * 1.25
    cx, cy = 200.0, 150.0 + 15 * 1.2  # 0-based centre moved down by 15 * scale
    np.testing.assert_allclose(r.box[0], [cx - side / 2, cy - side / 2, side, side], rtol=1e-6)
    # h36m18 pelvis (0) <- mpii 6; r_ankle (3) <- mpii 0; thorax (17) <- mpii 7; head (10) <- mpii 9 (unlabelled)
    np.testing.assert_allclose(r.joints_2d[0, 0], [100 + 30 - 1, 50 + 60 - 1])
    np.testing.assert_allclose(r.joints_2d[0, 3], [99, 49])
    np.testing.assert_allclose(r.joints_2d[0, 17], [100 + 35 - 1, 50 + 70 - 1])
    assert r.joints_vis[0, 10] == 0 and r.joints_vis[0, 7] == 0 and r.joints_vis[0, 0] == 1
    m = read_mpii(root, "train", joint_set="mpii16")
    assert m.num_joints == 16 and m.joints_vis[0, 9] == 0
    assert m.image_size[0].tolist() == [400, 300]


def test_mpii_bad_inputs(tmp_path: Path) -> None:
    root = _mpii_root(tmp_path)
    data = json.loads((root / "annot" / "train.json").read_text())
    bad = [dict(data[0]), dict(data[0])]
    del bad[1]["scale"]
    (root / "annot" / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"bad\.json entry 1: missing key 'scale'"):
        read_mpii(root, "bad")
    bad[1] = {**data[0], "joints": data[0]["joints"][:15]}
    (root / "annot" / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"entry 1: field 'joints' has shape \(15, 2\)"):
        read_mpii(root, "bad")
    far = [list(j) for j in data[0]["joints"]]
    far[0] = [5000, 10]
    (root / "annot" / "bad.json").write_text(json.dumps([{**data[0], "joints": far}]))
    with pytest.raises(ValueError, match="outside the 400x300 image"):
        read_mpii(root, "bad")
    (root / "annot" / "empty.json").write_text("[]")
    with pytest.raises(ValueError, match="empty"):
        read_mpii(root, "empty")
    (root / "annot" / "noimg.json").write_text(json.dumps([{**data[0], "image": "missing.jpg"}]))
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg"):
        read_mpii(root, "noimg")
    with pytest.raises(FileNotFoundError, match="valid"):
        read_mpii(root, "valid")


def test_mpii_gt_valid_mat(tmp_path: Path) -> None:
    from scipy.io import savemat

    n = 3
    pos = np.arange(16 * 2 * n, dtype=float).reshape(16, 2, n) + 1
    miss = np.zeros((16, n))
    miss[9, 1] = 1
    head = np.ones((2, 2, n)) * np.array([[[10.0]], [[30.0]]])
    savemat(tmp_path / "gt_valid.mat", {"pos_gt_src": pos, "jnt_missing": miss, "headboxes_src": head})
    gt = read_gt_valid_mat(tmp_path / "gt_valid.mat")
    assert gt["joints"].shape == (3, 16, 2) and gt["missing"][1, 9] and gt["missing"].sum() == 1
    np.testing.assert_allclose(gt["joints"][2, 4], pos[4, :, 2] - 1)
    np.testing.assert_allclose(gt["head_boxes"][0], [[9, 9], [29, 29]])
    savemat(tmp_path / "bad.mat", {"pos_gt_src": pos})
    with pytest.raises(ValueError, match="jnt_missing"):
        read_gt_valid_mat(tmp_path / "bad.mat")


def _coco_root(tmp_path: Path, assets: Path) -> Path:
    (tmp_path / "images" / "val2017").mkdir(parents=True)
    (tmp_path / "annotations").mkdir()
    shutil.copy(assets / "coco_sample" / "000000000785.jpg", tmp_path / "images" / "val2017")
    d = json.loads((assets / "coco_sample" / "person_keypoints_000000000785.json").read_text())
    real = d["annotations"][0]
    crowd = {**real, "id": 2, "iscrowd": 1}
    empty = {**real, "id": 3, "keypoints": [0] * 51, "num_keypoints": 0}
    one = {**real, "id": 4, "keypoints": [300, 100, 2] + [0] * 48, "num_keypoints": 1}
    d["annotations"] = [real, crowd, empty, one]
    (tmp_path / "annotations" / "person_keypoints_val2017.json").write_text(json.dumps(d))
    return tmp_path


def test_coco_real_sample(tmp_path: Path, assets_dir: Path) -> None:
    root = _coco_root(tmp_path, assets_dir)
    r = read_coco(root, "val2017")
    assert len(r) == 1  # crowd, empty and single-keypoint people dropped
    d = json.loads((root / "annotations" / "person_keypoints_val2017.json").read_text())
    kp = np.asarray(d["annotations"][0]["keypoints"], dtype=float).reshape(17, 3)
    x, y, w, h = d["annotations"][0]["bbox"]
    cx, cy = x + (w - 1) / 2 + 0.5, y + (h - 1) / 2 + 0.5
    np.testing.assert_allclose(r.box[0, 2:], [w * 1.25, h * 1.25], rtol=1e-5)
    np.testing.assert_allclose(r.box[0, :2] + r.box[0, 2:] / 2, [cx, cy], rtol=1e-5)
    np.testing.assert_allclose(r.joints_2d[0, 13], kp[9, :2])  # l_wrist <- coco 9
    np.testing.assert_allclose(r.joints_2d[0, 9], kp[0, :2])  # nose slot <- coco nose
    assert r.joints_vis[0, 0] == 0 and r.joints_vis[0, 17] == 0
    assert r.frame[0] == d["annotations"][0]["id"] and r.subaction[0] == 785
    c = read_coco(root, "val2017", joint_set="coco17")
    np.testing.assert_allclose(c.joints_2d[0], kp[:, :2])
    assert image_size(root / "images" / "val2017" / "000000000785.jpg") == (640, 425)


def test_coco_bad_inputs(tmp_path: Path, assets_dir: Path) -> None:
    root = _coco_root(tmp_path, assets_dir)
    f = root / "annotations" / "person_keypoints_val2017.json"
    d = json.loads(f.read_text())
    d["annotations"][0]["keypoints"] = d["annotations"][0]["keypoints"][:50]
    f.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"annotations\[0\]: field 'keypoints' has shape \(50,\)"):
        read_coco(root, "val2017")
    d["annotations"] = d["annotations"][1:3]
    f.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="empty"):
        read_coco(root, "val2017")
    del d["images"]
    f.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="missing key 'images'"):
        read_coco(root, "val2017")


def _challenge_root(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(0)
    poses = []
    for split in ("Train", "Test"):
        (tmp_path / split / "IMG").mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(tmp_path / split / "IMG" / f"{i + 1:05d}.jpg"), np.zeros((200, 180, 3), np.uint8))
    (tmp_path / "Train" / "POSE").mkdir()
    for i in range(2):
        p = rng.normal(0, 300, (17, 3))
        p -= p[0]
        poses.append(p)
        (tmp_path / "Train" / "POSE" / f"{i + 1:05d}.csv").write_text(
            "\n".join(",".join(f"{v:.4f}" for v in r) for r in p)
        )
    return tmp_path, np.asarray(poses)


def test_challenge_similarity_labels(tmp_path: Path) -> None:
    root, poses = _challenge_root(tmp_path)
    ang = 0.3
    R = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    preds = {f"{i + 1:05d}.jpg": (0.1 * poses[i][:, :2] @ R.T + [90, 100]).tolist() for i in range(2)}
    (root / "pred2d.json").write_text(json.dumps(preds))
    r = read_challenge(root, "Train", pred_2d=root / "pred2d.json")
    assert len(r) == 2 and r.image_path[1] == "Train/IMG/00002.jpg" and r.frame.tolist() == [1, 2]
    np.testing.assert_allclose(r.joints_2d[0, :17], preds["00001.jpg"], atol=1e-6)
    assert pixels_per_mm(r.joints_2d[0], r.joints_3d_cam[0]) == pytest.approx(0.1)
    s, Rf, t = fit_similarity_2d(poses[0][:, :2], np.asarray(preds["00001.jpg"]))
    np.testing.assert_allclose([s, *Rf.ravel(), *t], [0.1, *R.ravel(), 90, 100], atol=1e-9)
    test = read_challenge(root, "Test")
    assert not test.header.has_3d and test.box[0].tolist() == [0, 0, 180, 200]
    boxes = {"Test/IMG/00001.jpg": [10, 20, 50, 100, 0.9], "Test/IMG/00002.jpg": [0, 0, 40, 40, 0.5]}
    (root / "det.json").write_text(json.dumps(boxes))
    td = apply_detector_boxes(test, load_detector_boxes(root / "det.json"), factor=1.1)
    np.testing.assert_allclose(td.box[0], [35 - 27.5, 70 - 55, 55, 110])


def test_challenge_bone_length_rescale_and_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pose = rng.normal(0, 200, (3, 18, 3)) + 1000
    out = rescale_to_bone_length(pose)
    np.testing.assert_allclose(H36M_18.bone_lengths(out).sum(-1), 4502.881)
    np.testing.assert_allclose(out[:, 0], 0.0)
    root, _ = _challenge_root(tmp_path)
    (root / "Train" / "POSE" / "00002.csv").write_text("1,2,3\n" * 16 + "1,2\n")
    with pytest.raises(ValueError, match=r"00002\.csv: row 17 has 2 values"):
        read_challenge(root, "Train")
    with pytest.raises(ValueError, match="split"):
        read_challenge(root, "Dev")
    (root / "pred.json").write_text(json.dumps({"00001.jpg": [[0, 0]] * 5}))
    with pytest.raises(ValueError, match="expected 17 or 18"):
        read_challenge(root, "Train", pred_2d=root / "pred.json")


def test_challenge_similarity_fits_all_18_joints_on_noisy_detections(tmp_path: Path) -> None:
    """With σ = 6 px detection noise the labels are the least-squares similarity over all 18 joints (thorax
    included, as the original): no small change of scale, angle or shift lowers the 18-joint residual."""
    root, poses = _challenge_root(tmp_path)
    rng = np.random.default_rng(7)
    ang = -0.2
    R = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dets = {}
    for i in range(2):
        p18 = np.concatenate([poses[i], 0.5 * (poses[i][11:12] + poses[i][14:15])])
        dets[f"{i + 1:05d}.jpg"] = 0.12 * p18[:, :2] @ R.T + [90, 100] + rng.normal(0.0, 6.0, (18, 2))
    (root / "det.json").write_text(json.dumps({k: v.tolist() for k, v in dets.items()}))
    r = read_challenge(root, "Train", pred_2d=root / "det.json")
    pose, det, lab = r.joints_3d_cam[0][:, :2], dets["00001.jpg"], r.joints_2d[0]
    s, Rf, t = fit_similarity_2d(pose, lab)  # the labels are an exact similarity of the pose (recover it)
    np.testing.assert_allclose(s * pose @ Rf.T + t, lab, atol=1e-4)  # labels are stored as float32
    theta = np.arctan2(Rf[1, 0], Rf[0, 0])

    def residual(s_: float, th: float, tx: float, ty: float, joints: slice = slice(None)) -> float:
        rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        return float((((s_ * pose @ rot.T + [tx, ty]) - det)[joints] ** 2).sum())

    best = residual(s, theta, *t)
    for k, eps in enumerate((1e-4, 1e-4, 1e-2, 1e-2)):
        for sign in (-1.0, 1.0):
            params = [s, theta, *t]
            params[k] += sign * eps
            assert residual(*params) > best
    # the 17-joint fit (thorax left out) is a different, worse fit of the 18 joints
    s17, R17, t17 = fit_similarity_2d(pose[:17], det[:17])
    assert abs(s17 - s) / s > 1e-4
    assert residual(s17, np.arctan2(R17[1, 0], R17[0, 0]), *t17) > best
    # a 17-joint detection gets its thorax as the mean of its shoulders
    det17 = {k: v[:17].tolist() for k, v in dets.items()}
    (root / "det17.json").write_text(json.dumps(det17))
    r17 = read_challenge(root, "Train", pred_2d=root / "det17.json")
    d17 = np.asarray(det17["00001.jpg"])
    thorax = 0.5 * (d17[11] + d17[14])
    s2, R2, t2 = fit_similarity_2d(pose, r17.joints_2d[0])
    th2 = np.arctan2(R2[1, 0], R2[0, 0])
    full = np.concatenate([d17, thorax[None]])
    rot2 = np.array([[np.cos(th2), -np.sin(th2)], [np.sin(th2), np.cos(th2)]])
    base = float((((s2 * pose @ rot2.T + t2) - full) ** 2).sum())
    for dt in ([0.01, 0.0], [0.0, 0.01], [-0.01, 0.0]):
        assert float((((s2 * pose @ rot2.T + t2 + dt) - full) ** 2).sum()) > base
