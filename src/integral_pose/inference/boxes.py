"""The shared vocabulary of person boxes: the :class:`Detections` of one image, the :class:`BoxDetector` protocol,
IoU and non-maximum suppression on ``x, y, w, h`` boxes in image pixels.

It sits below :mod:`.detector` (the box sources and ``make_detector``) and :mod:`.person_detector` (the bundled
learned detector), which both build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["BoxDetector", "Detections", "iou_xywh", "nms_xywh"]


@dataclass(frozen=True)
class Detections:
    """Boxes found in one image.

    Attributes:
        boxes: (N, 4) float64 x, y, w, h in image px.
        scores: (N,) float64 detector scores (1.0 for user and full-image boxes).
        source: which box source produced them, e.g. ``"hog"``.
    """

    boxes: np.ndarray
    scores: np.ndarray
    source: str


class BoxDetector(Protocol):
    """Anything that finds person boxes in an (H, W, 3) uint8 RGB image."""

    name: str

    def __call__(self, image: np.ndarray) -> Detections: ...


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union between boxes ``a`` (N, 4) and ``b`` (M, 4), both xywh. Returns (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms_xywh(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression. Returns the kept indices, highest score first.

    A box is dropped when its IoU with an already kept, higher-scoring box is greater than ``iou_threshold``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if boxes.shape[0] != scores.shape[0]:
        raise ValueError(f"scores: expected {boxes.shape[0]} values (one per box), got {scores.shape[0]}")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold: expected a value in [0, 1], got {iou_threshold}")
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    suppressed = np.zeros(len(order), dtype=bool)
    ious = iou_xywh(boxes, boxes)
    for pos, i in enumerate(order):
        if suppressed[pos]:
            continue
        keep.append(int(i))
        suppressed[pos + 1 :] |= ious[i, order[pos + 1 :]] > iou_threshold
    return np.asarray(keep, dtype=np.int64)
