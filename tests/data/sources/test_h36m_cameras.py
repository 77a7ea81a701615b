"""The Human3.6M camera file reader (``h36m_cameras.json``, shipped in the package assets)."""

import json

import numpy as np
import pytest

from integral_pose.data.sources.h36m import load_h36m_cameras


def test_loader_reads_all_subjects_and_converts_T_to_mm(assets_dir):
    cams = load_h36m_cameras()
    raw = json.loads((assets_dir / "h36m_cameras.json").read_text())
    assert set(cams) == {k for k in raw if not k.startswith("_")}
    for subject, entries in cams.items():
        assert [c.camera_id for c in entries] == raw["_format"]["camera_order"]
        for cam, e in zip(entries, raw[subject]):
            np.testing.assert_allclose(cam.T, np.asarray(e["T"]) * 1000.0)
            assert cam.resolution == (e["res_w"], e["res_h"])
            np.testing.assert_allclose(cam.R, e["R"])
    # loading an explicit path gives the same cameras
    again = load_h36m_cameras(assets_dir / "h36m_cameras.json")
    np.testing.assert_allclose(again["S9"][2].K, cams["S9"][2].K)


def test_loader_errors_name_the_file_and_subject(tmp_path):
    with pytest.raises(FileNotFoundError, match="path: camera file"):
        load_h36m_cameras(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"S1": {"not": "a list"}}))
    with pytest.raises(ValueError, match="subject 'S1'"):
        load_h36m_cameras(bad)
