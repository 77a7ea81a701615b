"""Person boxes for the top-down model: user boxes, the full image, the bundled learned detector, HOG, an ONNX file.

The pose model is top-down: it needs one box per person. Boxes are always returned as (N, 4) float64
``x, y, w, h`` in image pixels (top-left corner, width, height) together with (N,) scores.

Box sources (``name`` is written into every result so outputs say which was used):

* ``"user"`` — boxes given by the caller (Python argument or JSON file), in ``xywh`` or ``xyxy`` stated explicitly.
* ``"full"`` — one box covering the whole image.
* ``"auto"`` — the default: ``"ssdlite"`` when onnxruntime can be imported (the ``detect`` extra), else ``"hog"``.
  Results name the detector that was chosen, never ``"auto"``.
* ``"ssdlite"`` — the bundled SSDLite-MobileNetV2 person detector (MIT, 3.4 MB, offline, SHA-256 checked), run with
  onnxruntime (:class:`~integral_pose.inference.person_detector.SsdLitePersonDetector`). When it finds nobody, the
  full image is used and the source reads ``"full (fallback: ssdlite found no person)"``.
* ``"hog"`` — OpenCV's built-in HOG + linear SVM people detector (no extra needed, but 11–14× the cost per image of
  ``"ssdlite"`` and less accurate; ``ipr bench detector``), followed by non-maximum suppression. When it finds nobody,
  the full image is used and the source reads ``"full (fallback: hog found no person)"``.
* ``"onnx:<file>"`` — a user's ONNX detector with a stated output layout (:class:`OnnxDetector`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from integral_pose.data.io import check_image_u8
from integral_pose.fileio import read_json
from integral_pose.inference.boxes import BoxDetector, Detections, iou_xywh, nms_xywh
from integral_pose.inference.person_detector import SsdLitePersonDetector, onnxruntime_available

__all__ = [
    "BOX_FORMATS",
    "DETECTOR_SPECS",
    "ONNX_LAYOUTS",
    "BoxDetector",
    "Detections",
    "FullImageDetector",
    "HogPeopleDetector",
    "OnnxDetector",
    "UserBoxes",
    "iou_xywh",
    "make_detector",
    "nms_xywh",
    "validate_boxes",
]

BOX_FORMATS = ("xywh", "xyxy")
DETECTOR_SPECS = ("auto", "ssdlite", "hog", "full", "onnx:PATH")
ONNX_LAYOUTS = ("xyxy_score", "xywh_score", "cxcywh_score", "xyxy_score_class", "xywh_score_class")


def validate_boxes(
    boxes: Any, image_size: tuple[int, int] | None = None, box_format: str = "xywh", name: str = "boxes"
) -> np.ndarray:
    """Check user boxes and convert them to (N, 4) float64 xywh px.

    Args:
        boxes: (N, 4) or (4,) numbers; an empty list ``[]`` (or an empty array) means no person: (0, 4).
        image_size: (W, H) of the image; when given, a box that lies entirely outside it is an error.
        box_format: ``"xywh"`` (top-left, width, height) or ``"xyxy"`` (top-left, bottom-right).
        name: the argument's name, for error messages.

    Raises:
        ValueError: wrong shape, non-finite values, zero/negative area, or a box outside the image.
    """
    if box_format not in BOX_FORMATS:
        raise ValueError(f"box_format: expected one of {BOX_FORMATS}, got {box_format!r}")
    try:
        arr = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected numbers of shape (N, 4), got {type(boxes).__name__} ({exc})") from None
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None]
    if arr.ndim == 1 and arr.shape[0] == 0:  # [] means nobody in this image
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name}: expected shape (N, 4) ({box_format}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite values, got {arr.tolist()}")
    if box_format == "xyxy":
        arr = np.concatenate([arr[:, :2], arr[:, 2:] - arr[:, :2]], axis=1)
    bad = np.flatnonzero((arr[:, 2] <= 0) | (arr[:, 3] <= 0))
    if bad.size:
        raise ValueError(
            f"{name}: box {int(bad[0])} has zero or negative area (w, h = {arr[bad[0], 2]:g}, {arr[bad[0], 3]:g}"
            f" after reading it as {box_format}); expected w > 0 and h > 0"
        )
    if image_size is not None:
        w_img, h_img = image_size
        outside = (
            (arr[:, 0] >= w_img) | (arr[:, 1] >= h_img) | (arr[:, 0] + arr[:, 2] <= 0) | (arr[:, 1] + arr[:, 3] <= 0)
        )
        bad = np.flatnonzero(outside)
        if bad.size:
            raise ValueError(
                f"{name}: box {int(bad[0])} {arr[bad[0]].tolist()} (xywh) lies entirely outside the "
                f"{w_img}x{h_img} image"
            )
    return arr


class FullImageDetector:
    """One box covering the whole image: (0, 0, W, H)."""

    name = "full"

    def __call__(self, image: np.ndarray) -> Detections:
        w, h = check_image_u8(image)
        return Detections(np.array([[0.0, 0.0, float(w), float(h)]]), np.ones(1), self.name)


class HogPeopleDetector:
    """OpenCV's default HOG people detector (Dalal–Triggs, 64×128 window) followed by NMS.

    Args:
        score_threshold: minimum SVM score of a kept window.
        nms_iou: IoU above which the lower-scoring of two boxes is dropped.
        max_side: images whose longer side exceeds this are downscaled before detection (speed); boxes are
            mapped back to the original pixels.
        min_side: images whose shorter side is below this are upscaled first so a person can fill the window.
        fallback_full: when nobody is found, return the full image instead of no box.
        scale: pyramid step of ``detectMultiScale``.
        win_stride: window stride in px of ``detectMultiScale``.
        border: a replicated border of this fraction of the longer side is added before detection, so people
            who fill the frame or touch its edge still fit the detection window; boxes are clipped to the image.
    """

    name = "hog"

    def __init__(
        self,
        score_threshold: float = 0.5,
        nms_iou: float = 0.45,
        max_side: int = 800,
        min_side: int = 160,
        fallback_full: bool = True,
        scale: float = 1.05,
        win_stride: int = 8,
        border: float = 0.25,
    ) -> None:
        if not (math.isfinite(score_threshold)):
            raise ValueError(f"score_threshold: expected a finite number, got {score_threshold}")
        if not 0.0 <= nms_iou <= 1.0:
            raise ValueError(f"nms_iou: expected a value in [0, 1], got {nms_iou}")
        if max_side < 128 or min_side < 1 or min_side > max_side:
            raise ValueError(
                f"max_side/min_side: expected 1 <= min_side <= max_side, max_side >= 128, got {min_side}, {max_side}"
            )
        if not scale > 1.0:
            raise ValueError(f"scale: expected a value > 1, got {scale}")
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.max_side = int(max_side)
        self.min_side = int(min_side)
        self.fallback_full = bool(fallback_full)
        self.scale = float(scale)
        self.win_stride = int(win_stride)
        if not 0.0 <= border <= 1.0:
            raise ValueError(f"border: expected a fraction in [0, 1], got {border}")
        self.border = float(border)
        self._hog: Any = None

    def _descriptor(self) -> Any:
        if self._hog is None:
            if not hasattr(cv2, "HOGDescriptor"):
                raise ImportError(
                    f"detector 'hog': OpenCV {cv2.__version__} has no HOG people detector (OpenCV 5 removed it); "
                    "install opencv-python-headless<5, or use --detector full, onnx:PATH or user boxes"
                )
            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
            self._hog = hog
        return self._hog

    def detect_raw(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HOG windows before NMS and thresholding: (K, 4) xywh px and (K,) scores."""

        w, h = check_image_u8(image)
        f = 1.0
        if max(w, h) > self.max_side:
            f = self.max_side / max(w, h)
        elif min(w, h) < self.min_side:
            f = min(self.min_side / min(w, h), self.max_side / max(w, h))
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if f != 1.0:
            grey = cv2.resize(grey, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        # a replicated border lets the 64x128 window (person + margin) fit people who fill or touch the frame
        pad = round(self.border * max(grey.shape))
        if pad:
            grey = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        if grey.shape[0] < 128 or grey.shape[1] < 64:
            return np.zeros((0, 4)), np.zeros(0)
        rects, weights = self._descriptor().detectMultiScale(
            grey, winStride=(self.win_stride, self.win_stride), padding=(8, 8), scale=self.scale
        )
        if len(rects) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        boxes = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        boxes[:, :2] -= pad
        boxes /= f
        return boxes, np.asarray(weights, dtype=np.float64).reshape(-1)

    @staticmethod
    def clip_to_image(boxes: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """Intersect (K, 4) xywh boxes with the image ``(W, H)``; boxes left without area get w = h = 0."""
        w, h = image_size
        x1 = np.clip(boxes[:, 0], 0, w)
        y1 = np.clip(boxes[:, 1], 0, h)
        x2 = np.clip(boxes[:, 0] + boxes[:, 2], 0, w)
        y2 = np.clip(boxes[:, 1] + boxes[:, 3], 0, h)
        return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)

    def __call__(self, image: np.ndarray) -> Detections:
        boxes, scores = self.detect_raw(image)
        boxes = self.clip_to_image(boxes, (image.shape[1], image.shape[0]))
        sel = (scores >= self.score_threshold) & (boxes[:, 2] > 1) & (boxes[:, 3] > 1)
        boxes, scores = boxes[sel], scores[sel]
        keep = nms_xywh(boxes, scores, self.nms_iou)
        boxes, scores = boxes[keep], scores[keep]
        if boxes.shape[0] == 0 and self.fallback_full:
            full = FullImageDetector()(image)
            return Detections(full.boxes, np.zeros(1), "full (fallback: hog found no person)")
        return Detections(boxes, scores, self.name)


class OnnxDetector:
    """A user's person detector exported to ONNX, run with onnxruntime.

    Contract with the model: one input of shape (1, 3, H_in, W_in), float32 RGB scaled to [0, 1] (optionally
    normalised with ``mean``/``std`` given here); the image is resized (no letterbox) to (W_in, H_in), read from the
    model when its input shape is static, else ``input_size``. The first output holds one row per box, shape
    (K, C) or (1, K, C), whose columns follow ``layout``:

    * ``xyxy_score``: x1, y1, x2, y2, score
    * ``xywh_score``: x, y, w, h, score
    * ``cxcywh_score``: cx, cy, w, h, score
    * ``xyxy_score_class`` / ``xywh_score_class``: as above plus a class id; only ``person_class`` rows are kept.

    Coordinates are in the model's input pixels, or in [0, 1] of the input when ``normalized=True``; they are
    mapped back to the original image. Rows below ``score_threshold`` are dropped, then NMS is applied.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        layout: str = "xyxy_score",
        score_threshold: float = 0.5,
        nms_iou: float = 0.45,
        input_size: tuple[int, int] | None = None,
        normalized: bool = False,
        person_class: int = 0,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"detector: ONNX file not found: {str(p)!r}")
        if layout not in ONNX_LAYOUTS:
            raise ValueError(f"layout: expected one of {ONNX_LAYOUTS}, got {layout!r}")
        if not 0.0 <= nms_iou <= 1.0:
            raise ValueError(f"nms_iou: expected a value in [0, 1], got {nms_iou}")
        import onnxruntime as ort

        try:
            self._session = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
            raise ValueError(f"detector: cannot load ONNX model {str(p)!r}: {exc}") from None
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        shape = list(inp.shape)
        if len(shape) != 4 or shape[1] not in (3, "3"):
            raise ValueError(f"detector: expected the model input to be (1, 3, H, W), got {shape}")
        if isinstance(shape[2], int) and isinstance(shape[3], int):
            self.input_size = (int(shape[3]), int(shape[2]))
        elif input_size is not None:
            self.input_size = (int(input_size[0]), int(input_size[1]))
        else:
            raise ValueError(f"input_size: the model's input {shape} has a dynamic size; give input_size=(W, H)")
        self.layout = layout
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.normalized = bool(normalized)
        self.person_class = int(person_class)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
        self.name = f"onnx:{p.name}"

    def __call__(self, image: np.ndarray) -> Detections:

        w, h = check_image_u8(image)
        win, hin = self.input_size
        x = cv2.resize(image, (win, hin), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        x = (x.transpose(2, 0, 1)[None] - self.mean) / self.std
        out = np.asarray(self._session.run(None, {self._input_name: x.astype(np.float32)})[0], dtype=np.float64)
        if out.ndim == 3 and out.shape[0] == 1:
            out = out[0]
        ncol = 6 if self.layout.endswith("_class") else 5
        if out.ndim != 2 or out.shape[1] < ncol:
            raise ValueError(
                f"detector {self.name}: expected output rows of {ncol} columns ({self.layout}), got shape {out.shape}"
            )
        rows = out[np.isfinite(out[:, :ncol]).all(axis=1)]
        if ncol == 6:
            rows = rows[np.round(rows[:, 5]).astype(np.int64) == self.person_class]
        rows = rows[rows[:, 4] >= self.score_threshold]
        b = rows[:, :4].copy()
        if self.layout.startswith("xyxy"):
            b[:, 2:] -= b[:, :2]
        elif self.layout.startswith("cxcywh"):
            b[:, :2] -= 0.5 * b[:, 2:]
        sx, sy = (w, h) if self.normalized else (w / win, h / hin)
        b *= np.array([sx, sy, sx, sy])
        ok = (b[:, 2] > 0) & (b[:, 3] > 0)
        b, scores = b[ok], rows[ok, 4]
        keep = nms_xywh(b, scores, self.nms_iou)
        return Detections(b[keep], scores[keep], self.name)


class UserBoxes:
    """Boxes given by the user, per frame name (or the same boxes for every frame).

    Args:
        boxes: either an (N, 4) array-like used for every image, or a mapping from a frame key to (N, 4) boxes.
            An empty list ``[]`` means nobody in that frame (results with N = 0).
            A frame's boxes are looked up by its name (relative path without extension), its file name, its
            file stem, or its index as a string, in that order.
        box_format: ``"xywh"`` or ``"xyxy"`` — stated explicitly, never guessed.
    """

    name = "user"

    def __init__(self, boxes: Any, box_format: str) -> None:
        if box_format not in BOX_FORMATS:
            raise ValueError(f"box_format: expected one of {BOX_FORMATS}, got {box_format!r}")
        self.box_format = box_format
        if isinstance(boxes, Mapping):
            self._per_frame = {str(k): validate_boxes(v, None, box_format, f"boxes[{k!r}]") for k, v in boxes.items()}
            self._all: np.ndarray | None = None
        else:
            self._per_frame = {}
            self._all = validate_boxes(boxes, None, box_format)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str], box_format: str | None = None) -> UserBoxes:
        """Read boxes from a JSON file.

        The file is ``{"format": "xywh"|"xyxy", "boxes": [[...], ...]}`` (the same boxes for every frame) or
        ``{"format": ..., "boxes": {"<frame name>": [[...], ...], ...}}``. ``box_format`` must agree with the
        file's ``"format"`` when both are given; one of them is required.
        """
        p = Path(path)
        data = read_json(p, "boxes")
        if not isinstance(data, dict) or "boxes" not in data:
            raise ValueError(f"boxes: {str(p)!r} must be a JSON object with keys 'format' and 'boxes'")
        fmt = data.get("format")
        if fmt is not None and box_format is not None and fmt != box_format:
            raise ValueError(f"boxes: {str(p)!r} states format {fmt!r} but {box_format!r} was requested")
        fmt = fmt or box_format
        if fmt is None:
            raise ValueError(f"boxes: {str(p)!r} has no 'format' key; state 'xywh' or 'xyxy' (or pass a box format)")
        return cls(data["boxes"], fmt)

    def lookup(self, name: str, path: Path | None, index: int) -> np.ndarray:
        """The (N, 4) xywh boxes of one frame; raises ``KeyError`` when the file has none for it."""
        if self._all is not None:
            return self._all
        keys = [name]
        if path is not None:
            keys += [path.name, path.stem]
        keys.append(str(index))
        keys = list(dict.fromkeys(keys))  # each candidate once, in order
        for k in keys:
            if k in self._per_frame:
                return self._per_frame[k]
        raise KeyError(f"boxes: no entry for frame {name!r} (tried keys {keys})")


def make_detector(spec: str, score_threshold: float | None = None, **onnx_kwargs: Any) -> BoxDetector:
    """Build a detector from one of :data:`DETECTOR_SPECS` (extra keyword arguments go to ``onnx:PATH``).

    ``"auto"`` gives the bundled ``"ssdlite"`` detector when onnxruntime can be imported, else ``"hog"``.
    ``score_threshold`` (default: each detector's own, 0.5) applies to ``ssdlite`` and ``onnx:PATH``; HOG has no
    comparable score and ignores it.

    Raises:
        ImportError: ``"ssdlite"`` without onnxruntime (names the extra to install).
        DetectorWeightsError: the bundled weight file fails its SHA-256 check.
        ValueError: an unknown spec.
    """
    scored = {} if score_threshold is None else {"score_threshold": score_threshold}
    if spec == "auto":
        return SsdLitePersonDetector(**scored) if onnxruntime_available() else HogPeopleDetector()
    if spec == "ssdlite":
        return SsdLitePersonDetector(**scored)
    if spec == "hog":
        return HogPeopleDetector()
    if spec == "full":
        return FullImageDetector()
    if spec.startswith("onnx:"):
        return OnnxDetector(spec[len("onnx:") :], **scored, **onnx_kwargs)
    raise ValueError(f"detector: expected one of {', '.join(DETECTOR_SPECS)}, got {spec!r}")
