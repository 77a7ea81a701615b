"""Shared reader helpers: image headers, boxes, detector boxes, per-video frame sampling."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.data.sources.common import (
    check_joints_in_image,
    enlarge_box,
    image_size,
    load_detector_boxes,
    random_frames_per_group,
    tight_box,
)


@pytest.mark.parametrize("ext,params", [(".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".png", [])])
def test_image_size_from_header_matches_decode(tmp_path: Path, ext: str, params: list[int]) -> None:
    img = np.zeros((37, 53, 3), np.uint8)
    p = tmp_path / f"x{ext}"
    cv2.imwrite(str(p), img, params)
    assert image_size(p) == (53, 37)
    with pytest.raises(FileNotFoundError):
        image_size(tmp_path / "none.jpg")


def test_boxes() -> None:
    np.testing.assert_allclose(enlarge_box(np.array([10.0, 20.0, 40.0, 60.0]), 1.5), [0, 5, 60, 90])
    j = np.array([[10.0, 10.0], [30.0, 50.0], [500.0, 500.0]])
    np.testing.assert_allclose(tight_box(j, np.array([1, 1, 0])), [7.5, 5.0, 25.0, 50.0])
    with pytest.raises(ValueError, match="no visible joint"):
        tight_box(j, np.zeros(3))
    check_joints_in_image(np.array([[-5.0, 3.0]]), np.ones(1), 100, 80, "w")  # slightly outside: fine
    with pytest.raises(ValueError, match="where: joint 1"):
        check_joints_in_image(np.array([[1.0, 1.0], [1.0, 200.0]]), np.ones(2), 100, 80, "where")


def test_detector_boxes(tmp_path: Path) -> None:
    p = tmp_path / "det.json"
    p.write_text(json.dumps([{"image": "a.jpg", "bbox": [1, 2, 3, 4], "score": 0.2},
                             {"image": "a.jpg", "bbox": [5, 6, 7, 8], "score": 0.9}]))  # fmt: skip
    np.testing.assert_allclose(load_detector_boxes(p)["a.jpg"], [5, 6, 7, 8, 0.9])
    p.write_text(json.dumps([{"bbox": [1, 2, 3, 4]}]))
    with pytest.raises(ValueError, match="entry 0: missing key 'image'"):
        load_detector_boxes(p)
    p.write_text(json.dumps({"a.jpg": [1, 2, 0, 4]}))
    with pytest.raises(ValueError, match="non-positive size"):
        load_detector_boxes(p)


def test_random_frames_per_group() -> None:
    groups = np.repeat(["a", "b", "c"], [10, 2, 5])
    sel = random_frames_per_group(groups, 3, seed=1)
    assert [int((groups[sel] == g).sum()) for g in "abc"] == [3, 2, 3]
    np.testing.assert_array_equal(sel, random_frames_per_group(groups, 3, seed=1))
    assert not np.array_equal(sel, random_frames_per_group(groups, 3, seed=2))
