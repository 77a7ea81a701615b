"""What the 2D evaluation needs in the records: the optional ``head_size`` column (MPII), read from head boxes or
``gt_valid.mat``, backward compatible with files written before it; the COCO annotation link in the header."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.data.records import PoseRecords, RecordsHeader, concat_records, load_records, save_records
from integral_pose.data.sources.coco import read_coco
from integral_pose.data.sources.mpii import read_mpii


def _table(n: int = 3, head_size: np.ndarray | None = None) -> PoseRecords:
    header = RecordsHeader(dataset="mpii", split="valid", joint_set="mpii16", has_3d=False)
    return PoseRecords.create(header, [f"{i}.jpg" for i in range(n)], np.tile([64, 48], (n, 1)),
                              np.tile([1, 1, 30, 30], (n, 1)), np.zeros((n, 16, 2)), head_size=head_size)  # fmt: skip


def test_head_size_round_trip_subset_concat_and_old_files(tmp_path):
    rec = _table(head_size=np.array([12.0, np.nan, 30.5]))
    back = load_records(save_records(rec, tmp_path / "t.npz"))
    np.testing.assert_array_equal(back.head_size, [12.0, np.nan, 30.5])
    assert back.head_size.dtype == np.float32
    np.testing.assert_array_equal(back.subset([2, 0]).head_size, [30.5, 12.0])
    np.testing.assert_array_equal(concat_records([back, back]).head_size[3:], back.head_size)
    assert np.isnan(_table().head_size).all()  # not given: unknown
    # a file written before the column existed loads with unknown head sizes
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        members = {k: z[k] for k in z.files if k != "head_size"}
    np.savez(tmp_path / "old.npz", **members)
    assert np.isnan(load_records(tmp_path / "old.npz").head_size).all()
    with pytest.raises(ValueError, match=r"head_size: record 1 has -2\.0; expected > 0 px or NaN"):
        _table(head_size=np.array([1.0, -2.0, 3.0]))


def _mpii(root: Path, n: int = 2) -> list[dict]:
    (root / "images").mkdir(parents=True)
    (root / "annot").mkdir()
    cv2.imwrite(str(root / "images" / "000000001.jpg"), np.zeros((120, 160, 3), np.uint8))
    joints = [[40 + 4 * k, 30 + 3 * k] for k in range(16)]
    entries = [{"image": "000000001.jpg", "center": [81.0, 61.0], "scale": 0.4, "joints": joints,
                "joints_vis": [1] * 16} for _ in range(n)]  # fmt: skip
    (root / "annot" / "valid.json").write_text(json.dumps(entries))
    return entries


def test_mpii_head_sizes_from_gt_valid_mat_and_headbox(tmp_path):
    from scipy.io import savemat

    entries = _mpii(tmp_path)
    assert np.isnan(read_mpii(tmp_path, "valid").head_size).all()  # no head boxes anywhere
    head = np.zeros((2, 2, 2))
    head[:, :, 0] = [[11, 21], [41, 61]]  # 1-based corners: diagonal (30, 40) = 50 px
    head[:, :, 1] = [[1, 1], [7, 9]]  # (6, 8) = 10 px
    savemat(tmp_path / "annot" / "gt_valid.mat", {"pos_gt_src": np.ones((16, 2, 2)), "jnt_missing": np.zeros((16, 2)),
                                                  "headboxes_src": head})  # fmt: skip
    rec = read_mpii(tmp_path, "valid")  # picks annot/gt_valid.mat up by default for the valid split
    np.testing.assert_allclose(rec.head_size, [0.6 * 50, 0.6 * 10], rtol=1e-6)
    assert rec.header.meta["headbox_file"].endswith("gt_valid.mat")
    entries[1]["headbox"] = [0, 0, 3, 4]  # an entry's own head box wins
    (tmp_path / "annot" / "valid.json").write_text(json.dumps(entries))
    np.testing.assert_allclose(read_mpii(tmp_path, "valid").head_size, [30.0, 3.0], rtol=1e-6)
    (tmp_path / "annot" / "valid.json").write_text(json.dumps(entries * 2))
    with pytest.raises(ValueError, match=r"headbox_file: .*gt_valid\.mat holds 2 head boxes, .* has 4 entries"):
        read_mpii(tmp_path, "valid")
    entries[0]["headbox"] = [5, 5, 5, 5]
    (tmp_path / "annot" / "valid.json").write_text(json.dumps(entries))
    with pytest.raises(ValueError, match=r"valid\.json entry 0: field 'headbox' .* degenerate"):
        read_mpii(tmp_path, "valid")


def test_coco_records_link_their_annotation_file(tmp_path, assets_dir):
    root = tmp_path / "coco"
    (root / "images" / "val2017").mkdir(parents=True)
    (root / "annotations").mkdir()
    shutil.copy(assets_dir / "coco_sample" / "000000000785.jpg", root / "images" / "val2017")
    ann = root / "annotations" / "person_keypoints_val2017.json"
    shutil.copy(assets_dir / "coco_sample" / "person_keypoints_000000000785.json", ann)
    rec = load_records(save_records(read_coco(root, "val2017"), tmp_path / "c.npz"))
    assert rec.header.meta["coco_gt"] == "annotations/person_keypoints_val2017.json"
    assert (rec.root_dir / rec.header.meta["coco_gt"]).resolve() == ann.resolve()
    outside = tmp_path / "elsewhere.json"
    shutil.copy(ann, outside)
    other = read_coco(root, "val2017", annot_file=outside)
    assert other.header.meta["coco_gt"] == str(outside.resolve())  # not under the root: absolute
