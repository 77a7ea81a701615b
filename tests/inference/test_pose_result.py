"""PoseResult: shapes checked, JSON-safe dict with units, exact round trip, atomic save, drawing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from integral_pose.inference.results import UNITS, PoseResult
from integral_pose.skeletons import H36M_18


def _result(n: int = 2, nan: bool = False) -> PoseResult:
    rng = np.random.default_rng(0)
    j = H36M_18.num_joints
    kp2 = rng.uniform(10, 90, (n, j, 2))
    rel = rng.normal(0, 300, (n, j, 3))
    rel[:, 0] = 0.0
    if nan and n:
        kp2[0, 3] = np.nan
    return PoseResult(
        boxes=rng.uniform(0, 50, (n, 4)) + np.array([0, 0, 10, 10]),
        box_scores=np.ones(n),
        box_source="hog",
        keypoints_2d=kp2,
        keypoints_3d_rel=rel,
        keypoints_3d=rel + np.array([100.0, -50.0, 4000.0]),
        scores=rng.uniform(0, 1, (n, j)),
        joint_names=H36M_18.joint_names,
        edges=H36M_18.edges,
        image_size=(100, 120),
        K=np.array([[100.0, 0, 49.5], [0, 100.0, 59.5], [0, 0, 1]]),
        root_from="fov_guess",
        fov_deg=55.0,
        name="frame",
    )


def test_to_dict_is_strict_json_with_units_and_provenance() -> None:
    d = _result(nan=True).to_dict()
    text = json.dumps(d, allow_nan=False)  # raises on NaN/inf
    back = json.loads(text)
    assert back["units"] == UNITS
    assert back["units"]["keypoints_3d"].startswith("mm")
    assert back["joint_names"] == list(H36M_18.joint_names)
    assert back["box_source"] == "hog"
    assert back["camera"]["root_from"] == "fov_guess" and back["camera"]["fov_deg"] == 55.0
    assert back["camera"]["model"] == "pinhole"
    assert back["keypoints_2d"][0][3] == [None, None]


def test_round_trip_through_json(tmp_path: Path) -> None:
    r = _result(nan=True)
    path = r.save_json(tmp_path / "sub" / "r.json", decimals=6)
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary file left behind
    back = PoseResult.from_dict(json.loads(path.read_text()))
    for key in ("boxes", "keypoints_2d", "keypoints_3d_rel", "keypoints_3d", "scores", "K"):
        np.testing.assert_allclose(getattr(back, key), getattr(r, key), atol=1e-6, equal_nan=True)
    assert back.joint_names == r.joint_names and back.edges == r.edges and back.root_from == r.root_from


def test_zero_people_round_trip(tmp_path: Path) -> None:
    r = _result(n=0)
    assert r.num_people == 0
    back = PoseResult.from_dict(json.loads(r.save_json(tmp_path / "e.json").read_text()))
    assert back.keypoints_3d.shape == (0, 18, 3) and back.scores.shape == (0, 18)


def test_shape_and_flag_validation() -> None:
    r = _result()
    with pytest.raises(ValueError, match="keypoints_2d"):
        PoseResult(**{**r.__dict__, "keypoints_2d": np.zeros((2, 17, 2))})
    with pytest.raises(ValueError, match="root_from"):
        PoseResult(**{**r.__dict__, "root_from": "guess"})
    with pytest.raises(ValueError, match="format_version"):
        PoseResult.from_dict({"format_version": 99})


def test_draw_returns_a_new_image() -> None:
    r = _result(n=1)
    img = np.zeros((120, 100, 3), np.uint8)
    out = r.draw(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out.any() and not img.any()


def test_every_numeric_field_of_the_json_states_its_unit() -> None:
    from integral_pose.inference.results import UNITS

    for key in ("boxes", "keypoints_2d", "keypoints_3d_rel", "keypoints_3d", "scores", "camera.K", "camera.fov_deg",
                "image_size", "box_scores"):  # fmt: skip
        assert UNITS.get(key), key
    assert "width, height" in UNITS["image_size"] and "degrees" in UNITS["camera.fov_deg"]
