"""Per-dataset box source: ``data.<split>[i].box`` over ``data.box_source``, ``tight`` / box file / errors, and
``--boxes`` overriding the config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from integral_pose.build import build_eval_dataset, build_test_dataset, load_split_records
from integral_pose.config.schema import Config, DataConfig, DatasetSpec
from integral_pose.data.boxes import tight_boxes
from integral_pose.data.records import PoseRecords, RecordsHeader, save_records


def _records(tmp_path: Path) -> Path:
    j = np.zeros((3, 18, 2))
    j[:, :, 0] = np.linspace(10, 50, 18)  # x from 10 to 50
    j[:, :, 1] = np.linspace(20, 100, 18)[None] + np.arange(3)[:, None]  # y from 20 (+i) to 100 (+i)
    vis = np.ones((3, 18))
    vis[1, 1:] = 0  # one visible joint: keeps its own box
    vis[2, 17] = 0  # the last joint (50, 102) is not visible: bounded by joint 16
    header = RecordsHeader(dataset="h36m", split="test", joint_set="h36m18", root=str(tmp_path))
    rec = PoseRecords.create(header, ["a.jpg"] * 3, np.tile([200, 160], (3, 1)), np.tile([1, 2, 150, 140], (3, 1)),
                             j, joints_vis=vis, subject=["S9"] * 3, frame=[0, 64, 128])  # fmt: skip
    return save_records(rec, tmp_path / "test.npz")


def _cfg(path: Path, box: str | None = None, box_source: str = "gt") -> Config:
    return Config(data=DataConfig(test=(DatasetSpec("h36m", str(path), box=box),), box_source=box_source,
                                  num_workers=0))  # fmt: skip


def test_tight_box_from_config(tmp_path):
    path = _records(tmp_path)
    rec = load_split_records(_cfg(path, box="tight"), "test", 0)
    # sample 0: joints span x 10..50, y 20..100 → centre (30, 60), size 40×80 ×1.25 = 50×100
    np.testing.assert_allclose(rec.box[0], [5.0, 10.0, 50.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(rec.box[1], [1, 2, 150, 140])  # a single visible joint cannot be bounded
    top = 20.0 + 2 - 0.125 * (np.linspace(20, 100, 18)[16] - 20.0)
    np.testing.assert_allclose(rec.box[2, 1], top, rtol=1e-6)
    # data.box_source applies when the dataset sets none; the dataset's own box wins over it
    np.testing.assert_allclose(load_split_records(_cfg(path, box_source="tight"), "test", 0).box, rec.box)
    np.testing.assert_allclose(load_split_records(_cfg(path, "gt", "tight"), "test", 0).box[0], [1, 2, 150, 140])
    # the test datasets of training and of ipr eval see the same boxes; --boxes overrides the config
    np.testing.assert_allclose(build_eval_dataset(_cfg(path, box="tight")).datasets[0].records.box, rec.box)
    ev = build_test_dataset(_cfg(path, box="tight"), protocol="h36m_p2")
    np.testing.assert_allclose(ev.datasets[0].records.box, rec.box)  # S9, every frame a multiple of 64: all kept
    ev_gt = build_test_dataset(_cfg(path, box="tight"), protocol="h36m_p2", boxes="gt")
    np.testing.assert_allclose(ev_gt.datasets[0].records.box[0], [1, 2, 150, 140])
    # the one tight-box function agrees with a direct call
    np.testing.assert_allclose(tight_boxes(rec.joints_2d, rec.joints_vis, rec.box), rec.box)


@pytest.mark.parametrize("suffix", [".npy", ".json"])
def test_box_file_from_config(tmp_path, suffix):
    path = _records(tmp_path)
    boxes = np.array([[0, 0, 10, 20], [1, 1, 30, 30], [5, 6, 7, 8]], dtype=np.float32)
    f = tmp_path / f"boxes{suffix}"
    np.save(f, boxes) if suffix == ".npy" else f.write_text(json.dumps(boxes.tolist()))
    np.testing.assert_array_equal(load_split_records(_cfg(path, box=str(f)), "test", 0).box, boxes)


def test_bad_box_values_name_the_key(tmp_path):
    path = _records(tmp_path)
    with pytest.raises(ValueError, match=r"data\.test\[0\]\.box: expected 'gt', 'tight' or a \.npy/\.json .*'tigth'"):
        load_split_records(_cfg(path, box="tigth"), "test", 0)
    with pytest.raises(ValueError, match=r"data\.box_source: expected 'gt', 'tight'"):
        load_split_records(_cfg(path, box_source="none"), "test", 0)
    with pytest.raises(FileNotFoundError, match=r"data\.test\[0\]\.box: box file not found: .*missing\.npy"):
        load_split_records(_cfg(path, box=str(tmp_path / "missing.npy")), "test", 0)
    np.save(tmp_path / "short.npy", np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"data\.test\[0\]\.box: .*short\.npy holds shape \(2, 4\), expected \(3, 4\)"):
        load_split_records(_cfg(path, box=str(tmp_path / "short.npy")), "test", 0)
    with pytest.raises(ValueError, match=r"--boxes: expected 'gt', 'tight'"):
        build_test_dataset(_cfg(path), protocol="h36m_p2", boxes="loose")
