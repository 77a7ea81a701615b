"""People across video frames: IoU tracking with track ids, and per-track One-Euro smoothing of the poses.

:class:`IouTracker` links the boxes of consecutive frames greedily by intersection over union: every live track
predicts its box one frame ahead (constant velocity from its last two boxes), the pairs (track, box) are taken in
decreasing IoU while both are free and the IoU is at least ``iou_threshold``; a box left over starts a new track
(ids count up from 0 and are never reused) and a track unseen for more than ``max_age`` frames is dropped.

:class:`PoseSmoother` runs the tracker on each :class:`~integral_pose.inference.results.PoseResult` of a video, in
order, and filters each track's 2D keypoints (px), root-relative 3D keypoints (mm) and root translation (mm) with
its own :class:`~integral_pose.inference.filtering.OneEuroFilter`; the camera-frame 3D keypoints are rebuilt as
root-relative + translation, so they stay consistent. Boxes and scores are left as detected.

Example:
    >>> smoother = PoseSmoother()  # doctest: +SKIP
    >>> for frame in source:  # doctest: +SKIP
    ...     result = smoother(estimator.estimate([frame.image])[0], t=frame.index / fps)
    ...     print(result.track_ids)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from integral_pose.inference.boxes import iou_xywh
from integral_pose.inference.filtering import BETA_MM, BETA_PX, D_CUTOFF, MIN_CUTOFF, OneEuroFilter
from integral_pose.inference.results import PoseResult

__all__ = ["IouTracker", "PoseSmoother", "Track"]


@dataclass
class Track:
    """One person followed across frames.

    Attributes:
        id: the track id (unique within a tracker).
        box: (4,) last matched box, xywh px.
        velocity: (4,) change of the box per frame (xywh px), from the last two matches.
        missed: frames since the last match (0 when matched in the latest frame).
        hits: number of frames matched.
        state: per-track data kept by the user of the tracker (e.g. filters).
    """

    id: int
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    missed: int = 0
    hits: int = 1
    state: dict[str, Any] = field(default_factory=dict)

    def predicted(self) -> np.ndarray:
        """The box expected in the next frame (constant velocity over the frames missed), xywh px."""
        box = self.box + self.velocity * (self.missed + 1)
        box[2:] = np.maximum(box[2:], 1.0)
        return box


class IouTracker:
    """Greedy IoU tracker (see the module docstring).

    Args:
        iou_threshold: minimum IoU between a track's predicted box and a detection to link them.
        max_age: frames a track survives without a match before it is dropped.
    """

    def __init__(self, iou_threshold: float = 0.3, max_age: int = 15) -> None:
        if not (isinstance(iou_threshold, (int, float)) and 0.0 < iou_threshold <= 1.0):
            raise ValueError(f"iou_threshold: expected a value in (0, 1], got {iou_threshold!r}")
        if not (isinstance(max_age, int) and max_age >= 0):
            raise ValueError(f"max_age: expected an integer >= 0, got {max_age!r}")
        self.iou_threshold = float(iou_threshold)
        self.max_age = max_age
        self.tracks: list[Track] = []
        self._next_id = 0

    @property
    def tracks_started(self) -> int:
        """Number of track ids handed out so far."""
        return self._next_id

    def update(self, boxes: np.ndarray) -> tuple[np.ndarray, list[Track]]:
        """Link one frame's boxes (N, 4) xywh px to tracks.

        Returns:
            (N,) int64 track ids, one per box, and the matching :class:`Track` objects in the same order.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        n = boxes.shape[0]
        ids = np.full(n, -1, dtype=np.int64)
        owners: list[Track | None] = [None] * n
        if self.tracks and n:
            pred = np.stack([t.predicted() for t in self.tracks])
            iou = iou_xywh(pred, boxes)  # (T, N)
            pairs = sorted(((iou[a, b], a, b) for a in range(len(self.tracks)) for b in range(n)), reverse=True)
            used_t: set[int] = set()
            for value, a, b in pairs:
                if value < self.iou_threshold:
                    break
                if a in used_t or owners[b] is not None:
                    continue
                used_t.add(a)
                owners[b] = self.tracks[a]
        for b in range(n):
            tr = owners[b]
            if tr is None:
                tr = Track(self._next_id, boxes[b].copy())
                self._next_id += 1
                self.tracks.append(tr)
                owners[b] = tr
            else:
                tr.velocity = (boxes[b] - tr.box) / (tr.missed + 1)
                tr.box = boxes[b].copy()
                tr.hits += 1
            ids[b] = tr.id
        matched = {id(t) for t in owners if t is not None}
        for tr in self.tracks:
            if id(tr) in matched:
                tr.missed = 0
            else:
                tr.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_age]
        return ids, [t for t in owners if t is not None]


class PoseSmoother:
    """Track people over a video and smooth each track's keypoints with One-Euro filters.

    Args:
        min_cutoff: One-Euro cutoff in Hz when still (all signals).
        beta_px: One-Euro speed coefficient of the 2D keypoints, 1 / (px/s).
        beta_mm: One-Euro speed coefficient of the 3D keypoints and root translation, 1 / (mm/s).
        d_cutoff: One-Euro cutoff in Hz of the speed estimate.
        smooth: when False, only track (ids are still assigned) and leave the keypoints as estimated.
        iou_threshold: see :class:`IouTracker`.
        max_age: see :class:`IouTracker`.
    """

    def __init__(
        self,
        min_cutoff: float = MIN_CUTOFF,
        beta_px: float = BETA_PX,
        beta_mm: float = BETA_MM,
        d_cutoff: float = D_CUTOFF,
        smooth: bool = True,
        iou_threshold: float = 0.3,
        max_age: int = 15,
    ) -> None:
        OneEuroFilter(min_cutoff, beta_px, d_cutoff)  # validates the parameters now
        OneEuroFilter(min_cutoff, beta_mm, d_cutoff)
        self.min_cutoff, self.beta_px, self.beta_mm, self.d_cutoff = min_cutoff, beta_px, beta_mm, d_cutoff
        self.smooth = bool(smooth)
        self.tracker = IouTracker(iou_threshold, max_age)

    @property
    def description(self) -> dict[str, Any]:
        """The settings, as written into each result's ``"smoothing"`` entry."""
        return {
            "filter": "one_euro" if self.smooth else "none",
            "min_cutoff_hz": self.min_cutoff,
            "beta_px": self.beta_px,
            "beta_mm": self.beta_mm,
            "d_cutoff_hz": self.d_cutoff,
            "tracker": "iou",
            "iou_threshold": self.tracker.iou_threshold,
            "max_age_frames": self.tracker.max_age,
        }

    def _filters(self, track: Track) -> dict[str, OneEuroFilter]:
        if "filters" not in track.state:
            px = (self.min_cutoff, self.beta_px, self.d_cutoff)
            mm = (self.min_cutoff, self.beta_mm, self.d_cutoff)
            track.state["filters"] = {"2d": OneEuroFilter(*px), "rel": OneEuroFilter(*mm), "root": OneEuroFilter(*mm)}
        return track.state["filters"]

    def __call__(self, result: PoseResult, t: float) -> PoseResult:
        """Track and smooth one frame's result taken at time ``t`` (seconds); returns a new result with
        ``track_ids`` and ``smoothing`` set. Frames must come in time order."""
        if not math.isfinite(t):
            raise ValueError(f"t: expected a finite time in seconds, got {t}")
        ids, tracks = self.tracker.update(result.boxes)
        kp2d = result.keypoints_2d.copy()
        rel = result.keypoints_3d_rel.copy()
        abs3d = result.keypoints_3d.copy()
        if self.smooth:
            for i, tr in enumerate(tracks):
                f = self._filters(tr)
                root = np.nanmean(abs3d[i] - rel[i], axis=0)  # (3,) mm: the solved translation
                kp2d[i] = f["2d"](kp2d[i], t)
                rel[i] = f["rel"](rel[i], t)
                abs3d[i] = rel[i] + f["root"](root, t)[None]
        return dataclasses.replace(
            result,
            keypoints_2d=kp2d,
            keypoints_3d_rel=rel,
            keypoints_3d=abs3d,
            track_ids=ids,
            smoothing=self.description,
        )
