"""Person boxes: validation, IoU/NMS against OpenCV, HOG detector, full image, user JSON, a tiny ONNX detector."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.inference.detector import (
    FullImageDetector,
    HogPeopleDetector,
    OnnxDetector,
    UserBoxes,
    iou_xywh,
    make_detector,
    nms_xywh,
    validate_boxes,
)
from integral_pose.inference.sources import read_image


def test_iou_hand_computed() -> None:
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 10.0, 10.0], [20.0, 20.0, 5.0, 5.0], [0.0, 0.0, 10.0, 10.0]])
    np.testing.assert_allclose(iou_xywh(a, b), [[50.0 / 150.0, 0.0, 1.0]])


def test_nms_matches_opencv() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 200, (60, 2))
    wh = rng.uniform(20, 80, (60, 2))
    boxes = np.concatenate([xy, wh], axis=1)
    scores = rng.uniform(0, 1, 60)
    for thr in (0.2, 0.45, 0.7):
        ours = nms_xywh(boxes, scores, thr)
        ref = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), 0.0, thr)).reshape(-1)
        assert sorted(ours.tolist()) == sorted(ref.tolist())
        assert list(scores[ours]) == sorted(scores[ours], reverse=True)


def test_validate_boxes_xyxy_and_errors() -> None:
    np.testing.assert_allclose(validate_boxes([[10, 20, 50, 80]], (100, 100), "xyxy"), [[10, 20, 40, 60]])
    np.testing.assert_allclose(validate_boxes([1, 2, 3, 4]), [[1, 2, 3, 4]])
    with pytest.raises(ValueError, match="zero or negative area"):
        validate_boxes([[10, 10, 0, 5]])
    with pytest.raises(ValueError, match="zero or negative area"):
        validate_boxes([[10, 10, 5, 50]], box_format="xyxy")
    with pytest.raises(ValueError, match="finite"):
        validate_boxes([[np.nan, 0, 5, 5]])
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        validate_boxes([[1, 2, 3]])
    with pytest.raises(ValueError, match="entirely outside"):
        validate_boxes([[120, 10, 10, 10]], image_size=(100, 100))
    with pytest.raises(ValueError, match="box_format"):
        validate_boxes([[1, 2, 3, 4]], box_format="cxcy")
    with pytest.raises(TypeError, match="boxes"):
        validate_boxes([["a", "b", "c", "d"]])


def test_full_image_detector() -> None:
    det = FullImageDetector()(np.zeros((30, 40, 3), np.uint8))
    np.testing.assert_allclose(det.boxes, [[0, 0, 40, 30]])
    assert det.source == "full"
    with pytest.raises(TypeError, match="uint8"):
        FullImageDetector()(np.zeros((30, 40, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        FullImageDetector()(np.zeros((30, 40), np.uint8))


def test_hog_finds_the_skier_in_the_coco_photo(assets_dir: Path) -> None:
    image = read_image(assets_dir / "coco_sample" / "000000000785.jpg")
    ann = json.loads((assets_dir / "coco_sample" / "person_keypoints_000000000785.json").read_text())
    gt = np.asarray(ann["annotations"][0]["bbox"], dtype=np.float64)[None]
    det = HogPeopleDetector()(image)
    assert det.source == "hog"
    assert det.boxes.shape[1] == 4 and det.boxes.shape[0] >= 1
    assert iou_xywh(det.boxes, gt).max() > 0.5
    x, y, w, h = det.boxes.T
    assert (x >= 0).all() and (y >= 0).all() and (x + w <= image.shape[1]).all() and (y + h <= image.shape[0]).all()


def test_hog_falls_back_to_full_image_when_nobody_is_found() -> None:
    det = HogPeopleDetector()(np.full((200, 150, 3), 127, np.uint8))
    assert det.source.startswith("full (fallback")
    np.testing.assert_allclose(det.boxes, [[0, 0, 150, 200]])
    assert HogPeopleDetector(fallback_full=False)(np.full((200, 150, 3), 127, np.uint8)).boxes.shape == (0, 4)


def test_user_boxes_json(tmp_path: Path) -> None:
    f = tmp_path / "boxes.json"
    f.write_text(json.dumps({"format": "xyxy", "boxes": {"img_a": [[0, 0, 10, 20]], "3": [[1, 1, 2, 2]]}}))
    ub = UserBoxes.from_json(f)
    np.testing.assert_allclose(ub.lookup("img_a", None, 0), [[0, 0, 10, 20]])
    np.testing.assert_allclose(ub.lookup("clip_000003", None, 3), [[1, 1, 1, 1]])
    with pytest.raises(KeyError, match="no entry"):
        ub.lookup("other", None, 7)
    with pytest.raises(ValueError, match="states format"):
        UserBoxes.from_json(f, box_format="xywh")
    g = tmp_path / "noformat.json"
    g.write_text(json.dumps({"boxes": [[0, 0, 5, 5]]}))
    with pytest.raises(ValueError, match="no 'format'"):
        UserBoxes.from_json(g)
    np.testing.assert_allclose(UserBoxes.from_json(g, "xywh").lookup("x", None, 0), [[0, 0, 5, 5]])
    h = tmp_path / "bad.json"
    h.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        UserBoxes.from_json(h)
    with pytest.raises(FileNotFoundError):
        UserBoxes.from_json(tmp_path / "missing.json")


def _tiny_detector(path: Path) -> None:
    """A 64x64-input ONNX 'detector': two fixed overlapping xyxy boxes scored by the image mean (× 1 and × 0.9)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    boxes = numpy_helper.from_array(np.array([[8, 8, 40, 56], [10, 10, 42, 58]], np.float32), "boxes")
    gains = numpy_helper.from_array(np.array([1.0, 0.9], np.float32), "gains")
    ax1 = numpy_helper.from_array(np.array([1], np.int64), "ax1")
    ax0 = numpy_helper.from_array(np.array([0], np.int64), "ax0")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "gains"], ["s"]),
        helper.make_node("Unsqueeze", ["s", "ax1"], ["s2"]),
        helper.make_node("Concat", ["boxes", "s2"], ["rows"], axis=1),
        helper.make_node("Unsqueeze", ["rows", "ax0"], ["dets"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("dets", TensorProto.FLOAT, [1, 2, 5])],
        initializer=[boxes, gains, ax1, ax0],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_onnx_detector(tmp_path: Path) -> None:
    path = tmp_path / "det.onnx"
    _tiny_detector(path)
    det = OnnxDetector(path, layout="xyxy_score", score_threshold=0.5, nms_iou=0.5)
    white = np.full((128, 256, 3), 255, np.uint8)  # scale x 4, y 2 from the 64x64 input
    out = det(white)
    assert out.source == "onnx:det.onnx"
    np.testing.assert_allclose(out.boxes, [[32, 16, 128, 96]], atol=1e-4)  # the lower-scored twin is suppressed
    np.testing.assert_allclose(out.scores, [1.0], atol=1e-6)
    assert det(np.zeros((128, 256, 3), np.uint8)).boxes.shape == (0, 4)  # mean 0 -> below the threshold
    both = OnnxDetector(path, layout="xyxy_score", score_threshold=0.5, nms_iou=0.95)(white)
    assert both.boxes.shape == (2, 4)
    as_xywh = OnnxDetector(path, layout="xywh_score", score_threshold=0.5, nms_iou=0.5)(white)
    np.testing.assert_allclose(as_xywh.boxes[0], [32, 16, 160, 112], atol=1e-4)
    assert isinstance(make_detector(f"onnx:{path}", layout="xyxy_score"), OnnxDetector)


def test_onnx_detector_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        OnnxDetector(tmp_path / "none.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot load ONNX"):
        OnnxDetector(bad)
    path = tmp_path / "det.onnx"
    _tiny_detector(path)
    with pytest.raises(ValueError, match="layout"):
        OnnxDetector(path, layout="yxyx")
    with pytest.raises(ValueError, match="6 columns"):
        OnnxDetector(path, layout="xyxy_score_class")(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="detector"):
        make_detector("yolo")


def test_empty_box_list_means_nobody() -> None:
    assert validate_boxes([], (100, 100)).shape == (0, 4)
    assert validate_boxes(np.zeros((0, 4)), None, "xyxy").shape == (0, 4)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        validate_boxes([[]])
