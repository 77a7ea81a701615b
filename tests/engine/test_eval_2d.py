"""2D protocols of ``ipr eval``: MPII PCKh and COCO keypoint AP from records, joint-set mapping, COCO results file,
clear errors for tables without head sizes / COCO link, and the end-to-end CLI on the tiny checkpoint."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from integral_pose.data.records import load_records, save_records
from integral_pose.data.sources.coco import read_coco
from integral_pose.data.sources.mpii import read_mpii
from integral_pose.engine.eval_score_2d import (
    COCO_RESULTS_FILE,
    coco_keypoints,
    coco_results,
    score_coco,
    score_pckh,
    to_joint_set,
)
from integral_pose.eval.coco_ap import fill_missing_keypoints, keypoint_similarity
from integral_pose.skeletons import COCO_17, MPII_16, map_joints


# ------------------------------------------------------------------------------------------------ fixtures
def write_mpii(root: Path, n: int = 4, size: tuple[int, int] = (160, 120), seed: int = 0) -> Path:
    """An MPII-layout folder (``images/`` + ``annot/valid.json``) whose entries carry a ``headbox``."""
    import cv2

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annot").mkdir(exist_ok=True)
    w, h = size
    entries = []
    for i in range(n):
        name = f"{i:09d}.jpg"
        cv2.imwrite(str(root / "images" / name), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        joints = np.stack([rng.uniform(50, 110, 16), rng.uniform(30, 90, 16)], 1) + 1.0  # 1-based
        vis = np.ones(16, dtype=int)
        if i == 1:
            vis[9] = 0
            joints[9] = -1
        x1, y1 = joints[9] - [6, 8] if vis[9] else (70.0, 20.0)
        entries.append({"image": name, "center": [81.0, 61.0], "scale": 0.4, "joints": joints.tolist(),
                        "joints_vis": vis.tolist(), "headbox": [x1, y1, x1 + 12 + i, y1 + 16]})  # fmt: skip
    (root / "annot" / "valid.json").write_text(json.dumps(entries))
    return root


def coco_root(tmp: Path, assets: Path) -> Path:
    """The shipped COCO sample in the ``annotations/`` + ``images/val2017/`` layout."""
    (tmp / "images" / "val2017").mkdir(parents=True)
    (tmp / "annotations").mkdir()
    shutil.copy(assets / "coco_sample" / "000000000785.jpg", tmp / "images" / "val2017")
    shutil.copy(assets / "coco_sample" / "person_keypoints_000000000785.json",
                tmp / "annotations" / "person_keypoints_val2017.json")  # fmt: skip
    return tmp


# ------------------------------------------------------------------------------------------------ joint sets
def test_to_joint_set_direct_inverse_and_composed():
    rng = np.random.default_rng(0)
    h36 = rng.normal(size=(2, 18, 2))
    mp, ok = to_joint_set(h36, "h36m18", "mpii16")  # inverse of the mpii16 → h36m18 table
    assert ok.all()
    back, vis = map_joints(mp, None, "mpii16", "h36m18")
    np.testing.assert_array_equal(back[:, vis[0] > 0], h36[:, vis[0] > 0])
    co, ok = to_joint_set(h36, "h36m18", "coco17")
    missing = [COCO_17.joint_names[k] for k in np.flatnonzero(~ok)]
    assert missing == ["l_eye", "r_eye", "l_ear", "r_ear"] and np.isnan(co[:, ~ok]).all()
    np.testing.assert_array_equal(co[:, COCO_17.index("l_wrist")], h36[:, 13])
    mp17, ok17 = to_joint_set(h36[:, :17], "h36m17", "mpii16")  # through h36m18: no thorax
    assert [MPII_16.joint_names[k] for k in np.flatnonzero(~ok17)] == ["thorax"]
    np.testing.assert_array_equal(mp17[:, ok17], mp[:, ok17])
    with pytest.raises(ValueError, match=r"expected shape \(\.\.\., 18, D\)"):
        to_joint_set(h36[:, :5], "h36m18", "mpii16")


# ------------------------------------------------------------------------------------------------ MPII PCKh
def test_pckh_of_ground_truth_is_100_percent(tmp_path):
    rec = read_mpii(write_mpii(tmp_path), "valid")  # h36m18, head sizes from the entries' head boxes
    assert np.isfinite(rec.head_size).all()
    res = score_pckh(rec.joints_2d, "h36m18", rec.joints_2d, rec.joints_vis, "h36m18", rec.head_size)
    assert res["pckh"] == 1.0 and res["pckh_0.1"] == 1.0 and res["missing_joints"] == []
    assert set(res["groups"]) == {"head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle"}
    assert all(v == 1.0 for v in res["groups"].values())
    assert res["joint_counts"]["head_top"] == 3 and res["joint_counts"]["r_ankle"] == 4
    np.testing.assert_array_equal(res["per_sample"], 1.0)


def test_pckh_hand_computed():
    gt = np.zeros((2, 16, 2))
    vis = np.ones((2, 16))
    vis[1, MPII_16.index("l_ankle")] = 0
    head = np.array([10.0, 20.0])
    pred = gt.copy()
    pred[0, MPII_16.index("head_top")] = [4.0, 3.0]  # 5 px = 0.5 head: correct at 0.5 (<=), wrong at 0.1
    pred[1, MPII_16.index("head_top")] = [0.0, 12.0]  # 12 px = 0.6 head: wrong
    pred[0, MPII_16.index("r_wrist")] = [1.5, 0.0]  # 0.15 head: correct at 0.5, wrong at 0.1
    pred[1, MPII_16.index("pelvis")] = [100.0, 0.0]  # pelvis: not in the mean
    pred[1, MPII_16.index("l_ankle")] = [100.0, 0.0]  # invisible: not counted
    res = score_pckh(pred, "mpii16", gt, vis, "mpii16", head)
    # mean over the 14 joints without pelvis/thorax: 2·14 − 1 (ankle) = 27 visible, 1 wrong at 0.5, 3 at 0.1
    assert res["pckh"] == pytest.approx(26 / 27)
    assert res["pckh_0.1"] == pytest.approx(24 / 27)
    assert res["groups"]["head"] == 0.5 and res["groups"]["wrist"] == 1.0 and res["groups"]["ankle"] == 1.0
    assert res["per_joint"]["pelvis"] == 0.5 and res["joint_counts"]["l_ankle"] == 1
    assert res["groups_0.1"]["wrist"] == 0.75
    np.testing.assert_allclose(res["per_sample"], [1.0, 13 / 15])  # sample 1: 15 visible, head and pelvis off
    # a joint set without the thorax: thorax reported as missing and counted as a miss, the mean is unchanged
    h36 = map_joints(pred, None, "mpii16", "h36m18")[0][:, :17]
    res17 = score_pckh(h36, "h36m17", gt, vis, "mpii16", head)
    assert res17["missing_joints"] == ["thorax"] and res17["per_joint"]["thorax"] == 0.0
    assert res17["pckh"] == pytest.approx(26 / 27)


# ------------------------------------------------------------------------------------------------ COCO AP
def test_coco_ground_truth_through_results_file_gives_ap_1(tmp_path, assets_dir):
    from integral_pose.fileio import atomic_write_json

    root = coco_root(tmp_path, assets_dir)
    rec = read_coco(root, "val2017", joint_set="coco17")
    gt_file = root / "annotations" / "person_keypoints_val2017.json"
    assert rec.header.meta["coco_gt"] == "annotations/person_keypoints_val2017.json"
    results = coco_results(rec.joints_2d, "coco17", rec.subaction)
    out = atomic_write_json(tmp_path / COCO_RESULTS_FILE, results)
    loaded = json.loads(out.read_text())
    assert loaded[0]["category_id"] == 1 and loaded[0]["score"] == 1.0 and len(loaded[0]["keypoints"]) == 51
    stats = score_coco(loaded, gt_file, rec.subaction)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    # an H36M-18 model has no eyes/ears: flagged 0 and placed at the nose; the other keypoints are exact
    h36 = read_coco(root, "val2017", joint_set="h36m18")
    kp = coco_keypoints(h36.joints_2d, "h36m18")
    face = [COCO_17.index(n) for n in ("l_eye", "r_eye", "l_ear", "r_ear")]
    assert (kp[:, face, 2] == 0).all() and (np.delete(kp[..., 2], face, axis=1) == 1).all()
    np.testing.assert_allclose(kp[:, face, :2], np.repeat(kp[:, :1, :2], 4, axis=1))
    gt = np.asarray(json.loads(gt_file.read_text())["annotations"][0]["keypoints"], float).reshape(17, 3)
    body = [k for k in range(17) if k not in face and gt[k, 2] > 0]
    np.testing.assert_allclose(kp[0, body, :2], gt[body, :2], atol=1e-4)


def test_keypoint_similarity_and_fill():
    gt = np.zeros((1, 17, 2))
    pred = gt.copy()
    pred[0, 5] = [3.0, 4.0]  # d² = 25
    vis = np.zeros((1, 17))
    vis[0, [0, 5]] = 2
    sim = keypoint_similarity(pred, gt, vis, np.array([100.0]))
    assert sim[0, 0] == 1.0 and np.isnan(sim[0, 1])
    assert sim[0, 5] == pytest.approx(math.exp(-25 / (2 * 100 * (2 * 0.079) ** 2)))
    kp = np.full((2, 17, 2), np.nan)
    kp[0, 0] = [5.0, 6.0]
    kp[0, 5:] = 1.0
    kp[1, 5:] = [[2.0, 4.0]] * 12
    filled = fill_missing_keypoints(kp)
    np.testing.assert_array_equal(filled[0, :5], [[5.0, 6.0]] * 5)  # eyes/ears → nose
    np.testing.assert_array_equal(filled[1, :5], [[2.0, 4.0]] * 5)  # no nose → mean of the predicted ones


# ------------------------------------------------------------------------------------------------ errors
def _eval_cfg(checkpoint: Path, kind: str, records: Path):
    from integral_pose.config.io import apply_overrides, config_from_dict
    from integral_pose.engine.checkpoint import load_checkpoint

    over = [f"data.test=[{{kind: {kind}, records: '{records}'}}]", "data.num_workers=0", "eval.batch_size=4"]
    return config_from_dict(apply_overrides(load_checkpoint(checkpoint)["config"], over))


def test_missing_head_sizes_and_coco_link_are_clear_errors(tmp_path, assets_dir, tiny_checkpoint):
    from integral_pose.engine.evaluator import evaluate

    mroot = write_mpii(tmp_path / "mpii")
    data = json.loads((mroot / "annot" / "valid.json").read_text())
    for e in data:
        del e["headbox"]
    (mroot / "annot" / "valid.json").write_text(json.dumps(data))
    mfile = save_records(read_mpii(mroot, "valid"), tmp_path / "mpii_valid.npz")
    assert np.isnan(load_records(mfile).head_size).all()
    with pytest.raises(
        ValueError, match=r"data\.test\[0\]\.records \(.*mpii_valid\.npz\).*head size.*ipr data prepare mpii"
    ):
        evaluate(_eval_cfg(tiny_checkpoint, "mpii", mfile), [tiny_checkpoint], None, protocol="mpii_pckh",
                 max_samples=2, report=False)  # fmt: skip
    rec = read_coco(coco_root(tmp_path / "coco", assets_dir), "val2017")
    del rec.header.meta["coco_gt"]
    cfile = save_records(rec, tmp_path / "coco_old.npz")
    with pytest.raises(ValueError, match=r"coco_old\.npz\).*no link to the COCO ground truth.*ipr data prepare coco"):
        evaluate(_eval_cfg(tiny_checkpoint, "coco", cfile), [tiny_checkpoint], None, protocol="coco_ap",
                 report=False)  # fmt: skip


# ------------------------------------------------------------------------------------------------ CLI end to end
@pytest.mark.parametrize("protocol", ["mpii_pckh", "coco_ap"])
def test_cli_eval_2d_protocols(tmp_path, assets_dir, tiny_checkpoint, protocol, capsys):
    from integral_pose.cli.main import main

    if protocol == "mpii_pckh":
        records = save_records(read_mpii(write_mpii(tmp_path / "mpii", n=3), "valid"), tmp_path / "m.npz")
        kind = "mpii"
    else:
        records = save_records(read_coco(coco_root(tmp_path / "coco", assets_dir), "val2017"), tmp_path / "c.npz")
        kind = "coco"
    out = tmp_path / "eval"
    code = main(["eval", "--checkpoint", str(tiny_checkpoint), f"data.test=[{{kind: {kind}, records: '{records}'}}]",
                 "data.num_workers=0", "--protocol", protocol, "--flip-test", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    res = json.loads((out / "eval.json").read_text())
    assert res["protocol"] == protocol and res["kind"] == "2d" and res["flip_test"] is True
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if protocol == "mpii_pckh":
        assert res["num_samples"] == 3 and "PCKh@0.5" in printed.out
        for key in ("pckh", "pckh_0.1"):
            assert 0.0 <= res[key] <= 1.0
        assert all(0.0 <= v <= 1.0 for v in res["groups"].values())
    else:
        assert "AP50" in printed.out and "l_eye" in printed.out
        assert -1.0 <= res["ap"] <= 1.0 and math.isfinite(res["mean_oks"])
        results = json.loads((out / COCO_RESULTS_FILE).read_text())
        assert len(results) == res["num_samples"] == 1 and results[0]["image_id"] == 785
        assert np.isfinite(results[0]["keypoints"]).all()
