"""The bundled SSDLite person detector: boxes on real photos against hand-annotated and COCO boxes, the ``auto``
default (SSDLite with onnxruntime, HOG without), the SHA-256 check of the weights, and the full-image fallback."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.cli.main import build_parser
from integral_pose.inference import person_detector
from integral_pose.inference.detector import HogPeopleDetector, iou_xywh, make_detector
from integral_pose.inference.estimator import PoseEstimator
from integral_pose.inference.person_detector import (
    MODEL_SHA256,
    DetectorWeightsError,
    SsdLitePersonDetector,
    default_model_path,
)
from integral_pose.inference.sources import read_image

DATA = Path(__file__).resolve().parent / "data"
ASSETS = Path(__file__).resolve().parents[2] / "src" / "integral_pose" / "assets"
COCO_IMAGE = ASSETS / "coco_sample" / "000000000785.jpg"
PHOTOS = {
    "astronaut": ASSETS / "images" / "astronaut.png",
    "camera": ASSETS / "images" / "camera.png",
    "grace_hopper": ASSETS / "images" / "grace_hopper.jpg",
    "coco_785": COCO_IMAGE,
}


def _ground_truth() -> dict[str, np.ndarray]:
    hand = json.loads((DATA / "photo_person_boxes.json").read_text())
    assert hand["format"] == "xywh"
    boxes = {name: np.asarray(b, dtype=np.float64) for name, b in hand["boxes"].items()}
    coco = json.loads((ASSETS / "coco_sample" / "person_keypoints_000000000785.json").read_text())
    (ann,) = [a for a in coco["annotations"] if a["category_id"] == 1]
    boxes["coco_785"] = np.asarray([ann["bbox"]], dtype=np.float64)  # COCO boxes are xywh px
    return boxes


GT = _ground_truth()


@pytest.fixture(scope="module")
def ssdlite() -> SsdLitePersonDetector:
    pytest.importorskip("onnxruntime")
    return SsdLitePersonDetector()


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_finds_the_person_in_real_photos(ssdlite: SsdLitePersonDetector, name: str) -> None:
    image = read_image(PHOTOS[name])  # RGB
    det = ssdlite(image)
    assert det.source == "ssdlite"
    assert det.boxes.dtype == np.float64 and det.boxes.shape[1] == 4 and det.scores.shape == (det.boxes.shape[0],)
    assert 1 <= det.boxes.shape[0] <= 2 and (det.scores >= 0.5).all()
    assert np.all(np.diff(det.scores) <= 0)  # highest score first
    best = iou_xywh(det.boxes, GT[name]).max()
    assert best >= 0.5, f"{name}: best IoU {best:.3f} with the annotated box {GT[name].tolist()}"


def test_large_images_are_shrunk_and_boxes_returned_in_original_px(ssdlite: SsdLitePersonDetector) -> None:
    image = read_image(PHOTOS["grace_hopper"])
    big = cv2.resize(image, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)  # 1280 x 1500 > max_side
    det = ssdlite(big)
    assert det.source == "ssdlite"
    assert iou_xywh(det.boxes, GT["grace_hopper"] * 2.5).max() >= 0.5
    assert det.boxes[:, 0].min() >= 0 and (det.boxes[:, 0] + det.boxes[:, 2]).max() <= big.shape[1]


def test_nobody_found_falls_back_to_the_full_image(ssdlite: SsdLitePersonDetector) -> None:
    blank = np.full((240, 320, 3), 128, np.uint8)
    _, raw_scores = ssdlite.detect_raw(blank)
    assert raw_scores.max(initial=0.0) < ssdlite.score_threshold  # the premise: the model sees nobody here
    det = ssdlite(blank)
    assert det.source == "full (fallback: ssdlite found no person)"
    np.testing.assert_array_equal(det.boxes, [[0.0, 0.0, 320.0, 240.0]])
    np.testing.assert_array_equal(det.scores, [0.0])
    strict = SsdLitePersonDetector(fallback_full=False)
    assert strict(blank).boxes.shape == (0, 4) and strict(blank).source == "ssdlite"


def test_default_detector_is_ssdlite_with_onnxruntime(ssdlite: SsdLitePersonDetector, tiny_checkpoint: Path) -> None:
    args = build_parser().parse_args(["predict", "--checkpoint", "m.pt", "--source", "x.jpg"])
    assert args.detector == "auto"
    assert isinstance(make_detector(args.detector), SsdLitePersonDetector)
    est = PoseEstimator.from_checkpoint(tiny_checkpoint)  # the Python default is "auto" too
    r = est(COCO_IMAGE)
    assert r.box_source == "ssdlite" and iou_xywh(r.boxes, GT["coco_785"]).max() >= 0.5


def test_default_detector_is_hog_without_onnxruntime(monkeypatch: pytest.MonkeyPatch, tiny_checkpoint: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    assert isinstance(make_detector("auto"), HogPeopleDetector)
    est = PoseEstimator.from_checkpoint(tiny_checkpoint)
    assert est.detector.name == "hog"
    with pytest.raises(ImportError, match=r"integral-pose\[detect\]"):
        make_detector("ssdlite")


def test_shipped_weights_match_the_recorded_hash() -> None:
    data = default_model_path().read_bytes()
    assert hashlib.sha256(data).hexdigest() == MODEL_SHA256
    assert person_detector.read_checked_weights(default_model_path()) == data


def test_altered_weights_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    bad = tmp_path / "person_ssdlite_mobilenetv2.onnx"
    data = bytearray(default_model_path().read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one weight
    bad.write_bytes(bytes(data))
    with pytest.raises(DetectorWeightsError, match=rf"{re.escape(str(bad))}.*SHA-256.*expected {MODEL_SHA256}"):
        SsdLitePersonDetector(path=bad)
    # the bundled path goes through the same check, also when "auto" picks the detector
    monkeypatch.setattr(person_detector, "default_model_path", lambda: bad)
    for spec in ("ssdlite", "auto"):
        with pytest.raises(DetectorWeightsError, match=r"person_ssdlite_mobilenetv2\.onnx"):
            make_detector(spec)
    truncated = tmp_path / "short.onnx"
    shutil.copyfile(default_model_path(), truncated)
    with truncated.open("r+b") as f:
        f.truncate(1000)
    with pytest.raises(DetectorWeightsError, match=r"short\.onnx"):
        SsdLitePersonDetector(path=truncated)
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx"):
        SsdLitePersonDetector(path=tmp_path / "missing.onnx")


def test_bad_arguments() -> None:
    pytest.importorskip("onnxruntime")
    with pytest.raises(ValueError, match="score_threshold"):
        SsdLitePersonDetector(score_threshold=1.5)
    with pytest.raises(ValueError, match="nms_iou"):
        SsdLitePersonDetector(nms_iou=-0.1)
    with pytest.raises(ValueError, match="auto, ssdlite, hog, full, onnx:PATH"):
        make_detector("yolo")


def test_detector_threshold_reaches_ssdlite(ssdlite: SsdLitePersonDetector) -> None:
    args = build_parser().parse_args(["predict", "--checkpoint", "m.pt", "--source", "x.jpg",
                                      "--detector-threshold", "0.999"])  # fmt: skip
    strict = make_detector(args.detector, score_threshold=args.detector_threshold)
    assert isinstance(strict, SsdLitePersonDetector) and strict.score_threshold == 0.999
    image = read_image(PHOTOS["camera"])
    _, raw = ssdlite.detect_raw(image)
    assert raw.max() < 0.999  # the premise: no box of this photo scores that high
    assert strict(image).source == "full (fallback: ssdlite found no person)"
    assert ssdlite(image).source == "ssdlite"
