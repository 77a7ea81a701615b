"""Image reading: BGR uint8 arrays from files, with typed errors and optional reduced-resolution JPEG decode.

Reduced decode (``cv2.IMREAD_REDUCED_COLOR_{2,4,8}``) lets libjpeg skip most of the work when the person box
is much larger than the network patch. A reduced image's pixel ``i`` covers full-resolution pixels
``[r·i, r·i + r)``, so its centre sits at ``r·i + (r − 1)/2``; :func:`reduced_to_full` is that 2×3 map, and an
image→patch affine ``T`` becomes ``T ∘ reduced_to_full(r)`` for the reduced image (:func:`adjust_affine_for_reduction`).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from integral_pose.fileio import atomic_write_bytes

__all__ = [
    "REDUCTION_FACTORS",
    "ImageReadError",
    "MissingImageError",
    "adjust_affine_for_reduction",
    "check_image_u8",
    "choose_reduction",
    "read_image_bgr",
    "reduced_to_full",
    "write_image_atomic",
]

REDUCTION_FACTORS = (1, 2, 4, 8)


class ImageReadError(ValueError):
    """An image file exists but cannot be decoded (corrupt, truncated, not an image). ``path`` names the file."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"image {self.path}: {reason}")


class MissingImageError(ImageReadError, FileNotFoundError):
    """The image file does not exist (also a ``FileNotFoundError``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, "file not found")


def check_image_u8(image: np.ndarray, name: str = "image") -> tuple[int, int]:
    """Check that ``image`` is an in-memory (H, W, 3) uint8 image with H, W > 0 and return its size.

    Args:
        image: the array (channel order is not checked: RGB and BGR both pass).
        name: the argument's name, for error messages.

    Returns:
        ``(W, H)`` in px.

    Raises:
        TypeError: not a numpy array, or a dtype other than uint8.
        ValueError: a shape other than (H, W, 3) with H, W > 0.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name}: expected shape (H, W, 3) with H, W > 0, got {image.shape}")
    if image.dtype != np.uint8:
        raise TypeError(f"{name}: expected dtype uint8, got {image.dtype}")
    return int(image.shape[1]), int(image.shape[0])


def _is_truncated_jpeg(buf: np.ndarray) -> bool:
    """True for a JPEG byte stream (starts with SOI ``FFD8``) that lacks its end-of-image marker ``FFD9``."""
    if buf.size < 4 or buf[0] != 0xFF or buf[1] != 0xD8:
        return False
    tail = buf[-64:].tobytes().rstrip(b"\x00")  # some writers pad after EOI
    return not tail.endswith(b"\xff\xd9")


def read_image_bgr(path: str | os.PathLike[str], reduction: int = 1) -> np.ndarray:
    """Read an image file as a BGR uint8 array (H, W, 3), EXIF orientation ignored (as the original system).

    Args:
        path: image file.
        reduction: 1, 2, 4 or 8 — decode at 1/reduction resolution (JPEG decodes this natively; other formats
            are decoded at full size and area-resized by OpenCV). The result has ``ceil(W / r)`` columns.

    Raises:
        MissingImageError: the file does not exist.
        ImageReadError: the file cannot be decoded or is a truncated JPEG.
        ValueError: ``reduction`` is not one of 1, 2, 4, 8.
    """

    if reduction not in REDUCTION_FACTORS:
        raise ValueError(f"reduction: expected one of {REDUCTION_FACTORS}, got {reduction!r}")
    p = Path(path)
    if not p.is_file():
        raise MissingImageError(p)
    try:
        buf = np.fromfile(p, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(p, f"cannot read file ({exc})") from None
    if buf.size == 0:
        raise ImageReadError(p, "file is empty")
    if _is_truncated_jpeg(buf):
        raise ImageReadError(p, "truncated JPEG (no end-of-image marker)")
    flags = {
        1: cv2.IMREAD_COLOR,
        2: cv2.IMREAD_REDUCED_COLOR_2,
        4: cv2.IMREAD_REDUCED_COLOR_4,
        8: cv2.IMREAD_REDUCED_COLOR_8,
    }[reduction] | cv2.IMREAD_IGNORE_ORIENTATION
    img = cv2.imdecode(buf, flags)
    if img is None or img.ndim != 3 or img.shape[2] != 3:
        raise ImageReadError(p, "OpenCV cannot decode it as an image")
    return img


def reduced_to_full(reduction: int) -> np.ndarray:
    """(2, 3) affine from reduced-image px to full-resolution px: ``x_full = r·x_red + (r − 1)/2``."""
    if reduction not in REDUCTION_FACTORS:
        raise ValueError(f"reduction: expected one of {REDUCTION_FACTORS}, got {reduction!r}")
    r = float(reduction)
    off = 0.5 * (r - 1.0)
    return np.array([[r, 0.0, off], [0.0, r, off]])


def adjust_affine_for_reduction(affine: np.ndarray, reduction: int) -> np.ndarray:
    """Turn an image→patch affine (2, 3) for the full image into one for the 1/``reduction`` decoded image."""
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (2, 3):
        raise ValueError(f"affine: expected shape (2, 3), got {a.shape}")
    m = np.vstack([reduced_to_full(reduction), [0.0, 0.0, 1.0]])
    return a @ m


def choose_reduction(box_size: float, patch_size: float, min_scale: float = 1.0, oversample: float = 1.0) -> int:
    """Largest factor r in (1, 2, 4, 8) that keeps at least ``oversample`` source px per patch px.

    Args:
        box_size: side of the (aspect-fixed) box in full-resolution px (use the larger side of w/h ratio-wise).
        patch_size: matching patch side in px.
        min_scale: smallest scale augmentation applied (the box covered is ``box_size · s``).
        oversample: required ratio of source to patch pixels after reduction (≥ 1 keeps full detail).
    """
    if not (box_size > 0 and patch_size > 0 and min_scale > 0 and oversample > 0):
        raise ValueError(
            f"choose_reduction: expected positive box_size, patch_size, min_scale, oversample; got "
            f"{box_size}, {patch_size}, {min_scale}, {oversample}"
        )
    ratio = box_size * min_scale / (patch_size * oversample)
    best = 1
    for r in REDUCTION_FACTORS:
        if r <= ratio:
            best = r
    return best


def write_image_atomic(path: str | os.PathLike[str], image: np.ndarray, jpeg_quality: int = 95) -> Path:
    """Encode ``image`` (BGR uint8) by the file's extension and write it atomically (tmp + fsync + rename)."""

    p = Path(path)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if p.suffix.lower() in (".jpg", ".jpeg") else []
    ok, enc = cv2.imencode(p.suffix or ".jpg", image, params)
    if not ok:
        raise ValueError(f"image {p}: OpenCV cannot encode an array of shape {image.shape} as {p.suffix!r}")
    atomic_write_bytes(p, enc.tobytes())
    return p
