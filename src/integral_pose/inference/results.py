"""``PoseResult``: the poses found in one image, with explicit units, and its JSON form.

Units (also written into every JSON file under ``"units"``):

* ``boxes`` (N, 4): x, y, w, h in image pixels (top-left corner, width, height).
* ``keypoints_2d`` (N, J, 2): u, v in image pixels (pixel ``i`` at coordinate ``i``).
* ``keypoints_3d_rel`` (N, J, 3): millimetres, relative to the root joint, camera axes (x right, y down, z forward).
* ``keypoints_3d`` (N, J, 3): millimetres in the camera frame; the root translation is solved from the 2D joints
  and the camera intrinsics. ``root_from`` says whether the intrinsics were given (``"intrinsics"``) or guessed from
  a field of view (``"fov_guess"``; then the absolute depth is only as good as the guess).
* ``scores`` (N, J): per-joint confidence in [0, 1] from the soft-max heat-map distribution.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.fileio import atomic_write_bytes
from integral_pose.viz.draw2d import draw_poses_2d

__all__ = ["RESULT_FORMAT_VERSION", "UNITS", "PoseResult"]

RESULT_FORMAT_VERSION = 1

UNITS: dict[str, str] = {
    "boxes": "px, xywh (top-left x, top-left y, width, height)",
    "keypoints_2d": "px (u right, v down; pixel i at coordinate i)",
    "keypoints_3d_rel": "mm, root-relative, camera axes (x right, y down, z forward)",
    "keypoints_3d": "mm, camera frame (x right, y down, z forward)",
    "scores": "per-joint confidence in [0, 1] from the soft-max heat-map distribution (1.0 for direct-regression "
    "models, which have no heat map)",
    "camera.K": "px",
    "camera.fov_deg": "degrees, horizontal field of view assumed when no intrinsics were given",
    "image_size": "px, (width, height)",
    "box_scores": "detector score per box (1.0 for boxes given by the user or the full image)",
    "track_ids": "video only: one id per person, the same person keeps its id across frames (IoU tracking)",
}

ROOT_FROM = ("intrinsics", "fov_guess")


def _json_array(a: np.ndarray, decimals: int) -> Any:
    """Nested lists with NaN/inf written as ``null`` (strict JSON)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 0:
        v = float(arr)
        return round(v, decimals) if math.isfinite(v) else None
    return [_json_array(x, decimals) for x in arr]


def _from_json_array(x: Any, shape_tail: tuple[int, ...]) -> np.ndarray:
    arr = np.array(x if x else np.zeros((0, *shape_tail)), dtype=object)
    return np.where(arr == None, np.nan, arr).astype(np.float64).reshape(-1, *shape_tail)  # noqa: E711


@dataclass
class PoseResult:
    """Poses of the N people found in one image (see the module docstring for units).

    Attributes:
        boxes: (N, 4) float64 person boxes, xywh px.
        box_scores: (N,) detector scores of the boxes (1.0 for user/full-image boxes).
        box_source: where the boxes came from: ``"user"``, ``"full"``, ``"ssdlite"``, ``"hog"``, ``"onnx:<file>"``,
            ``"full (fallback: ssdlite found no person)"`` or ``"full (fallback: hog found no person)"``.
        keypoints_2d: (N, J, 2) px.
        keypoints_3d_rel: (N, J, 3) mm, root-relative, camera axes.
        keypoints_3d: (N, J, 3) mm, camera frame.
        scores: (N, J) per-joint confidence in [0, 1].
        joint_names: J names.
        edges: bones as (a, b) joint index pairs.
        image_size: (W, H) px.
        K: (3, 3) intrinsics used to place the root, px.
        root_from: ``"intrinsics"`` (given by the user) or ``"fov_guess"`` (built from ``fov_deg``).
        fov_deg: the horizontal field of view used when ``root_from == "fov_guess"``, else ``None``.
        name: the image/frame name (empty for arrays passed directly).
        flip_test: whether the flip test was used.
        track_ids: (N,) int64 track id of each person in a video (``None`` for single images).
        smoothing: the temporal filter and tracker settings applied to the keypoints of a video (``None`` when
            the keypoints are per-frame estimates).
    """

    boxes: np.ndarray
    box_scores: np.ndarray
    box_source: str
    keypoints_2d: np.ndarray
    keypoints_3d_rel: np.ndarray
    keypoints_3d: np.ndarray
    scores: np.ndarray
    joint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    image_size: tuple[int, int]
    K: np.ndarray
    root_from: str
    fov_deg: float | None = None
    name: str = ""
    flip_test: bool = False
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))
    track_ids: np.ndarray | None = None
    smoothing: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        n = np.asarray(self.boxes).reshape(-1, 4).shape[0]
        j = len(self.joint_names)
        expected = {
            "boxes": (n, 4),
            "box_scores": (n,),
            "keypoints_2d": (n, j, 2),
            "keypoints_3d_rel": (n, j, 3),
            "keypoints_3d": (n, j, 3),
            "scores": (n, j),
            "K": (3, 3),
        }
        for key, shape in expected.items():
            arr = np.asarray(getattr(self, key), dtype=np.float64)
            if key == "boxes":
                arr = arr.reshape(-1, 4)
            if arr.shape != shape:
                raise ValueError(f"PoseResult.{key}: expected shape {shape}, got {arr.shape}")
            setattr(self, key, arr)
        if self.track_ids is not None:
            ids = np.asarray(self.track_ids).reshape(-1)
            if ids.shape != (n,):
                raise ValueError(f"PoseResult.track_ids: expected shape {(n,)}, got {ids.shape}")
            self.track_ids = ids.astype(np.int64)
        if self.root_from not in ROOT_FROM:
            raise ValueError(f"PoseResult.root_from: expected one of {ROOT_FROM}, got {self.root_from!r}")
        self.joint_names = tuple(self.joint_names)
        self.edges = tuple((int(a), int(b)) for a, b in self.edges)
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    @property
    def num_people(self) -> int:
        """Number of people N."""
        return int(self.boxes.shape[0])

    def to_dict(self, decimals: int = 3) -> dict[str, Any]:
        """A JSON-safe dict (plain lists, floats rounded to ``decimals``, NaN as ``null``) with units."""
        return {
            "format_version": RESULT_FORMAT_VERSION,
            "name": self.name,
            "image_size": list(self.image_size),
            "units": dict(self.units),
            "joint_names": list(self.joint_names),
            "edges": [list(e) for e in self.edges],
            "box_source": self.box_source,
            "camera": {
                "model": "pinhole",
                "K": _json_array(self.K, 6),
                "root_from": self.root_from,
                "fov_deg": self.fov_deg,
            },
            "flip_test": bool(self.flip_test),
            "boxes": _json_array(self.boxes, decimals),
            "box_scores": _json_array(self.box_scores, 6),
            "keypoints_2d": _json_array(self.keypoints_2d, decimals),
            "keypoints_3d_rel": _json_array(self.keypoints_3d_rel, decimals),
            "keypoints_3d": _json_array(self.keypoints_3d, decimals),
            "scores": _json_array(self.scores, 6),
            **({} if self.track_ids is None else {"track_ids": [int(i) for i in self.track_ids]}),
            **({} if self.smoothing is None else {"smoothing": dict(self.smoothing)}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoseResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. a saved JSON file)."""
        if not isinstance(data, dict) or data.get("format_version") != RESULT_FORMAT_VERSION:
            raise ValueError(
                f"PoseResult: expected a dict with format_version {RESULT_FORMAT_VERSION}, "
                f"got {data.get('format_version') if isinstance(data, dict) else type(data).__name__}"
            )
        j = len(data["joint_names"])
        cam = data["camera"]
        return cls(
            boxes=_from_json_array(data["boxes"], (4,)),
            box_scores=_from_json_array(data["box_scores"], ()).reshape(-1),
            box_source=data["box_source"],
            keypoints_2d=_from_json_array(data["keypoints_2d"], (j, 2)),
            keypoints_3d_rel=_from_json_array(data["keypoints_3d_rel"], (j, 3)),
            keypoints_3d=_from_json_array(data["keypoints_3d"], (j, 3)),
            scores=_from_json_array(data["scores"], (j,)),
            joint_names=tuple(data["joint_names"]),
            edges=tuple(tuple(e) for e in data["edges"]),
            image_size=tuple(data["image_size"]),
            K=np.asarray(cam["K"], dtype=np.float64),
            root_from=cam["root_from"],
            fov_deg=cam.get("fov_deg"),
            name=data.get("name", ""),
            flip_test=bool(data.get("flip_test", False)),
            units=dict(data.get("units", UNITS)),
            track_ids=None if data.get("track_ids") is None else np.asarray(data["track_ids"], dtype=np.int64),
            smoothing=data.get("smoothing"),
        )

    def save_json(self, path: str | os.PathLike[str], decimals: int = 3) -> Path:
        """Write :meth:`to_dict` to ``path`` atomically; parent folders are created. Returns the path."""
        text = json.dumps(self.to_dict(decimals), indent=1, allow_nan=False)
        return atomic_write_bytes(path, (text + "\n").encode("utf-8"))

    def draw(self, image: np.ndarray, min_score: float = 0.2, draw_boxes: bool = True) -> np.ndarray:
        """2D overlay on a copy of ``image`` ((H, W, 3) uint8 RGB); see ``viz.draw2d.draw_poses_2d``."""

        return draw_poses_2d(
            image,
            self.keypoints_2d,
            self.edges,
            self.joint_names,
            scores=self.scores,
            boxes=self.boxes if draw_boxes else None,
            min_score=min_score,
        )
