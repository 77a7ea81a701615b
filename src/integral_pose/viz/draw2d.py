"""2D drawing primitives: skeleton overlays with left/right colours and per-joint confidence, boxes, panels.

Colours (RGB): left joints/bones :data:`LEFT_RGB` (blue), right :data:`RIGHT_RGB` (red), centre
:data:`CENTER_RGB` (green). A joint's colour is blended towards grey by its confidence (score 1 → the full side
colour, score 0 → grey); joints below ``min_score`` are drawn as hollow grey rings and their bones thin and grey,
so uncertain parts are visible but do not look like confident predictions. All functions return a new image and
never modify their input.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from integral_pose.data.io import check_image_u8

__all__ = [
    "BOX_RGB",
    "CENTER_RGB",
    "GREY_RGB",
    "LEFT_RGB",
    "RIGHT_RGB",
    "bone_side",
    "draw_boxes",
    "draw_poses_2d",
    "hstack_images",
    "joint_side",
    "side_color",
]

LEFT_RGB = (30, 120, 255)
RIGHT_RGB = (255, 50, 40)
CENTER_RGB = (40, 200, 60)
GREY_RGB = (150, 150, 150)
BOX_RGB = (255, 210, 0)
_SHIFT = 4  # sub-pixel bits for cv2 drawing


def joint_side(name: str) -> str:
    """``"left"``, ``"right"`` or ``"center"`` from a joint name (``l_``/``left`` and ``r_``/``right`` prefixes)."""
    n = name.lower()
    if n.startswith(("l_", "left")):
        return "left"
    if n.startswith(("r_", "right")):
        return "right"
    return "center"


def bone_side(side_a: str, side_b: str) -> str:
    """Side of a bone from its end joints: the non-centre side when one end is centre; centre when they disagree."""
    if side_a == side_b:
        return side_a
    if side_a == "center":
        return side_b
    if side_b == "center":
        return side_a
    return "center"


def side_color(side: str, score: float = 1.0) -> tuple[int, int, int]:
    """The RGB colour of ``side`` blended towards grey by ``score`` in [0, 1] (NaN counts as 0)."""
    base = {"left": LEFT_RGB, "right": RIGHT_RGB, "center": CENTER_RGB}.get(side)
    if base is None:
        raise ValueError(f"side: expected 'left', 'right' or 'center', got {side!r}")
    s = float(np.clip(np.nan_to_num(score, nan=0.0), 0.0, 1.0))
    return tuple(round(s * b + (1.0 - s) * g) for b, g in zip(base, GREY_RGB))  # type: ignore[return-value]


def _check_rgb(image: np.ndarray) -> np.ndarray:
    """A contiguous copy of ``image`` after :func:`check_image_u8` (the drawing functions never modify their input)."""
    check_image_u8(image)
    return np.ascontiguousarray(image).copy()


def _fix(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0]) * (1 << _SHIFT)), round(float(p[1]) * (1 << _SHIFT))


def draw_boxes(image: np.ndarray, boxes: np.ndarray, color: Sequence[int] = BOX_RGB, thickness: int = 0) -> np.ndarray:
    """Draw (N, 4) xywh px boxes on a copy of ``image`` (H, W, 3) uint8 RGB. ``thickness=0`` picks one from size."""

    out = _check_rgb(image)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    t = thickness or max(1, round(min(out.shape[:2]) / 300))
    for x, y, w, h in b:
        if np.isfinite([x, y, w, h]).all():
            cv2.rectangle(out, _fix((x, y)), _fix((x + w, y + h)), tuple(int(c) for c in color), t, cv2.LINE_AA, _SHIFT)
    return out


def draw_poses_2d(
    image: np.ndarray,
    keypoints: np.ndarray,
    edges: Sequence[tuple[int, int]],
    joint_names: Sequence[str],
    scores: np.ndarray | None = None,
    boxes: np.ndarray | None = None,
    min_score: float = 0.2,
    thickness: int = 0,
) -> np.ndarray:
    """Draw skeletons on a copy of an RGB image.

    Args:
        image: (H, W, 3) uint8 RGB.
        keypoints: (N, J, 2) or (J, 2) px; NaN joints are skipped.
        edges: bones as (a, b) joint index pairs.
        joint_names: J names (their ``l_``/``r_`` prefixes choose the colours).
        scores: (N, J) or (J,) confidences in [0, 1]; ``None`` means all 1.
        boxes: optional (N, 4) xywh px boxes drawn underneath.
        min_score: joints below it are drawn as hollow grey rings, bones touching them thin and grey.
        thickness: bone thickness in px; 0 picks one from the image size.

    Returns:
        A new (H, W, 3) uint8 RGB image.
    """

    out = _check_rgb(image)
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim == 2:
        kp = kp[None]
    j = len(joint_names)
    if kp.ndim != 3 or kp.shape[1:] != (j, 2):
        raise ValueError(f"keypoints: expected shape (N, {j}, 2) for {j} joint names, got {np.shape(keypoints)}")
    sc = np.ones(kp.shape[:2]) if scores is None else np.asarray(scores, dtype=np.float64).reshape(kp.shape[:2])
    for a, b in edges:
        if not (0 <= a < j and 0 <= b < j):
            raise ValueError(f"edges: bone ({a}, {b}) refers to a joint outside 0..{j - 1}")
    if boxes is not None:
        out = draw_boxes(out, boxes)
    t = thickness or max(1, round(min(out.shape[:2]) / 160))
    radius = max(2, round(1.6 * t))
    sides = [joint_side(n) for n in joint_names]
    for person, person_scores in zip(kp, sc):
        finite = np.isfinite(person).all(axis=1)
        for a, b in edges:
            if not (finite[a] and finite[b]):
                continue
            s = min(person_scores[a], person_scores[b])
            if s >= min_score:
                color, width = side_color(bone_side(sides[a], sides[b]), s), t
            else:
                color, width = GREY_RGB, max(1, t // 2)
            cv2.line(out, _fix(person[a]), _fix(person[b]), color, width, cv2.LINE_AA, _SHIFT)
        for i in range(j):
            if not finite[i]:
                continue
            if person_scores[i] >= min_score:
                cv2.circle(out, _fix(person[i]), radius << _SHIFT, side_color(sides[i], person_scores[i]), -1,
                           cv2.LINE_AA, _SHIFT)  # fmt: skip
            else:
                cv2.circle(out, _fix(person[i]), radius << _SHIFT, GREY_RGB, 1, cv2.LINE_AA, _SHIFT)
    return out


def hstack_images(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Put two (H, W, 3) uint8 images side by side; ``right`` is resized to ``left``'s height (aspect kept)."""

    a, b = _check_rgb(left), _check_rgb(right)
    if b.shape[0] != a.shape[0]:
        w = max(1, round(b.shape[1] * a.shape[0] / b.shape[0]))
        b = cv2.resize(b, (w, a.shape[0]), interpolation=cv2.INTER_AREA)
    return np.concatenate([a, b], axis=1)
