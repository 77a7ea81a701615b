"""The crop affine: box (centre, size) in the image ↔ patch of ``patch_w × patch_h`` pixels.

Conventions (DESIGN §3, the original system's ``gen_trans_from_patch_cv``): the transform is defined by three
point correspondences — the box centre, the centre moved half a box height "down" and half a box width "right",
both rotated by ``rot_deg`` and multiplied by the scale ``s`` — onto the patch centre, half a patch down and half
a patch right. ``s > 1`` zooms out (the box grows). Pixel coordinates are continuous with pixel ``i`` at
coordinate ``i`` (no half-pixel offset), exactly as ``cv2.warpAffine`` samples them.

Example:
    >>> import numpy as np
    >>> T = crop_affine(center=(100.0, 50.0), size=(40.0, 40.0), patch_size=(64, 64))
    >>> apply_affine(np.array([[100.0, 50.0]]), T).round(6).tolist()
    [[32.0, 32.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "affine_from_points",
    "apply_affine",
    "box_to_center_size",
    "crop_affine",
    "extend_box_to_aspect",
    "flip_points_x",
    "invert_affine",
]


def _pair(x: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (2,):
        raise ValueError(f"{name}: expected 2 numbers, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite values, got {arr.tolist()}")
    return arr


def affine_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 affine mapping three points ``src`` (3, 2) onto ``dst`` (3, 2) (like ``cv2.getAffineTransform``).

    Raises ``ValueError`` when the source points are collinear (singular system).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != (3, 2) or dst.shape != (3, 2):
        raise ValueError(f"src/dst: expected shape (3, 2) each, got {src.shape} and {dst.shape}")
    a = np.concatenate([src, np.ones((3, 1))], axis=1)  # (3, 3): rows [x, y, 1]
    det = np.linalg.det(a)
    scale = max(float(np.abs(src).max()), 1.0)
    if abs(det) < 1e-12 * scale * scale:
        raise ValueError(f"src: the three points are collinear (singular affine), got {src.tolist()}")
    return np.linalg.solve(a, dst).T  # (2, 3)


def crop_affine(
    center: Sequence[float] | np.ndarray,
    size: Sequence[float] | np.ndarray,
    patch_size: Sequence[int] | np.ndarray,
    scale: float = 1.0,
    rot_deg: float = 0.0,
    inv: bool = False,
) -> np.ndarray:
    """The 2×3 affine from image pixels to patch pixels (or back with ``inv=True``).

    Args:
        center: box centre (cx, cy) in image px.
        size: box (w, h) in image px, already extended to the patch aspect ratio.
        patch_size: (patch_w, patch_h) in px.
        scale: scale augmentation s (> 0); the box covered is ``size * s``.
        rot_deg: rotation in degrees (counter-clockwise in the image as the original defines it).
        inv: return the patch → image transform instead.

    Returns:
        (2, 3) float64 matrix ``T`` with ``[u', v'] = T @ [u, v, 1]``.
    """
    c = _pair(center, "center")
    wh = _pair(size, "size")
    pw, ph = _pair(patch_size, "patch_size")
    if (wh <= 0).any():
        raise ValueError(f"size: expected positive box width and height, got {wh.tolist()}")
    if pw <= 0 or ph <= 0:
        raise ValueError(f"patch_size: expected positive values, got {[pw, ph]}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale: expected a finite value > 0, got {scale}")
    if not math.isfinite(rot_deg):
        raise ValueError(f"rot_deg: expected a finite value, got {rot_deg}")
    sw, sh = wh * scale
    r = math.radians(rot_deg)
    cs, sn = math.cos(r), math.sin(r)
    down = np.array([-0.5 * sh * sn, 0.5 * sh * cs])  # rotate (0, sh/2)
    right = np.array([0.5 * sw * cs, 0.5 * sw * sn])  # rotate (sw/2, 0)
    src = np.stack([c, c + down, c + right])
    pc = np.array([0.5 * pw, 0.5 * ph])
    dst = np.stack([pc, pc + np.array([0.0, 0.5 * ph]), pc + np.array([0.5 * pw, 0.0])])
    return affine_from_points(dst, src) if inv else affine_from_points(src, dst)


def apply_affine(points: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Apply a 2×3 affine ``T`` to ``points`` (..., 2); returns (..., 2) in the same dtype (float)."""
    pts = np.asarray(points)
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (2, 3):
        raise ValueError(f"T: expected shape (2, 3), got {T.shape}")
    if pts.shape[-1:] != (2,):
        raise ValueError(f"points: expected shape (..., 2), got {pts.shape}")
    out = pts.astype(np.float64) @ T[:, :2].T + T[:, 2]
    return out.astype(np.result_type(pts.dtype, np.float32))


def invert_affine(T: np.ndarray) -> np.ndarray:
    """Inverse of a 2×3 affine; raises ``ValueError`` when it is singular."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (2, 3):
        raise ValueError(f"T: expected shape (2, 3), got {T.shape}")
    a = T[:, :2]
    det = float(np.linalg.det(a))
    if abs(det) < 1e-12:
        raise ValueError(f"T: singular affine (determinant {det:g}) cannot be inverted")
    ai = np.linalg.inv(a)
    return np.concatenate([ai, -(ai @ T[:, 2:])], axis=1)


def extend_box_to_aspect(box_xywh: np.ndarray, aspect: float) -> np.ndarray:
    """Grow boxes (..., 4) x, y, w, h about their centre so that w / h == ``aspect`` (never shrinks)."""
    box = np.asarray(box_xywh, dtype=np.float64)
    if box.shape[-1:] != (4,):
        raise ValueError(f"box_xywh: expected shape (..., 4), got {box.shape}")
    if not (math.isfinite(aspect) and aspect > 0):
        raise ValueError(f"aspect: expected a finite value > 0, got {aspect}")
    x, y, w, h = np.moveaxis(box, -1, 0)
    if (w <= 0).any() or (h <= 0).any():
        raise ValueError(f"box_xywh: expected positive width and height, got {box.tolist()}")
    cx, cy = x + 0.5 * w, y + 0.5 * h
    new_w = np.where(w > aspect * h, w, h * aspect)
    new_h = np.where(w > aspect * h, w / aspect, h)
    return np.stack([cx - 0.5 * new_w, cy - 0.5 * new_h, new_w, new_h], axis=-1)


def box_to_center_size(box_xywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split boxes (..., 4) x, y, w, h into centres (..., 2) and sizes (..., 2)."""
    box = np.asarray(box_xywh, dtype=np.float64)
    if box.shape[-1:] != (4,):
        raise ValueError(f"box_xywh: expected shape (..., 4), got {box.shape}")
    return box[..., :2] + 0.5 * box[..., 2:], box[..., 2:].copy()


def flip_points_x(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror pixel x coordinates of ``points`` (..., ≥1) in an image ``width`` px wide: x → width − 1 − x."""
    pts = np.array(points, dtype=np.result_type(np.asarray(points).dtype, np.float32), copy=True)
    pts[..., 0] = width - 1 - pts[..., 0]
    return pts
