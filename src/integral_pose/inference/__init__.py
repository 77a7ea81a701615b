"""Inference for users: :class:`PoseEstimator` (images, boxes, intrinsics → :class:`PoseResult` with units),
person-box sources (:mod:`.detector`; the bundled learned detector in :mod:`.person_detector`), frame sources
(:mod:`.sources`: image, folder, video, webcam), and for video
IoU tracking with One-Euro smoothing (:mod:`.tracking`, :mod:`.filtering`) and a live window (:mod:`.display`).

Example:
    >>> from integral_pose.inference import PoseEstimator
    >>> est = PoseEstimator.from_checkpoint("model.pt")  # doctest: +SKIP
    >>> est("photo.jpg").save_json("photo.json")  # doctest: +SKIP
"""

from integral_pose.inference.detector import (
    Detections,
    FullImageDetector,
    HogPeopleDetector,
    OnnxDetector,
    UserBoxes,
    make_detector,
)
from integral_pose.inference.estimator import PoseEstimator, load_intrinsics_json
from integral_pose.inference.filtering import OneEuroFilter
from integral_pose.inference.person_detector import SsdLitePersonDetector
from integral_pose.inference.results import UNITS, PoseResult
from integral_pose.inference.sources import Frame, FrameSource, open_source, read_image
from integral_pose.inference.tracking import IouTracker, PoseSmoother

__all__ = [
    "UNITS",
    "Detections",
    "Frame",
    "FrameSource",
    "FullImageDetector",
    "HogPeopleDetector",
    "IouTracker",
    "OneEuroFilter",
    "OnnxDetector",
    "PoseEstimator",
    "PoseResult",
    "PoseSmoother",
    "SsdLitePersonDetector",
    "UserBoxes",
    "load_intrinsics_json",
    "make_detector",
    "open_source",
    "read_image",
]
