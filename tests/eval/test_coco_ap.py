"""COCO keypoint AP through pycocotools on the shipped single-image sample (copied into tests/eval/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")

from integral_pose.eval.coco_ap import COCO_STAT_NAMES, coco_keypoint_ap, predictions_to_coco

FIXTURE = Path(__file__).parent / "fixtures" / "coco_person_keypoints_785.json"


def _gt() -> dict:
    return json.loads(FIXTURE.read_text())


def test_ground_truth_as_prediction_gives_ap_1():
    gt = _gt()
    ann = gt["annotations"]
    kps = np.array([a["keypoints"] for a in ann], dtype=np.float64).reshape(len(ann), 17, 3)
    preds = predictions_to_coco([a["image_id"] for a in ann], kps[..., :2], np.ones(len(ann)))
    stats = coco_keypoint_ap(FIXTURE, preds)
    assert set(stats) == set(COCO_STAT_NAMES)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    assert stats["AP50"] == pytest.approx(1.0)
    # the same from the loaded dict; the input dict is not modified
    before = json.dumps(gt, sort_keys=True)
    assert coco_keypoint_ap(gt, preds)["AP"] == pytest.approx(1.0)
    assert json.dumps(gt, sort_keys=True) == before


def test_displaced_prediction_lowers_ap():
    gt = _gt()
    a = gt["annotations"][0]
    kps = np.array(a["keypoints"], dtype=np.float64).reshape(1, 17, 3)
    w, h = a["bbox"][2:]
    shifted = kps[..., :2] + np.array([0.02 * w, 0.01 * h])
    ap_shift = coco_keypoint_ap(gt, predictions_to_coco([a["image_id"]], shifted, [1.0]))["AP"]
    far = kps[..., :2] + np.array([w, h])
    ap_far = coco_keypoint_ap(gt, predictions_to_coco([a["image_id"]], far, [1.0]))["AP"]
    assert 0.0 <= ap_far < ap_shift < 1.0


def test_bad_input(tmp_path):
    gt = _gt()
    good = predictions_to_coco([785], np.zeros((1, 17, 2)), [1.0])
    with pytest.raises(FileNotFoundError, match="gt: annotation file"):
        coco_keypoint_ap(tmp_path / "none.json", good)
    with pytest.raises(ValueError, match="gt: missing key 'annotations'"):
        coco_keypoint_ap({"images": [], "categories": []}, good)
    with pytest.raises(TypeError, match="gt: expected a path"):
        coco_keypoint_ap(42, good)
    with pytest.raises(ValueError, match="predictions: expected at least one"):
        coco_keypoint_ap(gt, [])
    with pytest.raises(ValueError, match=r"predictions\[0\]\['keypoints'\]: expected 51 numbers"):
        coco_keypoint_ap(gt, [{**good[0], "keypoints": [0.0] * 34}])
    with pytest.raises(ValueError, match=r"predictions\[0\]\['image_id'\]: 1 is not an image"):
        coco_keypoint_ap(gt, [{**good[0], "image_id": 1}])
    with pytest.raises(ValueError, match=r"predictions\[0\]: missing key\(s\) \['score'\]"):
        coco_keypoint_ap(gt, [{k: v for k, v in good[0].items() if k != "score"}])
    with pytest.raises(ValueError, match=r"keypoints: expected shape \(N, 17, 2\)"):
        predictions_to_coco([1], np.zeros((1, 16, 2)), [1.0])
    with pytest.raises(ValueError, match="image_ids/scores"):
        predictions_to_coco([1, 2], np.zeros((1, 17, 2)), [1.0])
