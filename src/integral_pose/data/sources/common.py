"""Helpers shared by the dataset readers: boxes, image headers, detector boxes, frame sampling, field checks."""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.data.io import read_image_bgr
from integral_pose.data.records import PoseRecords
from integral_pose.fileio import read_json

__all__ = [
    "apply_detector_boxes",
    "check_joints_in_image",
    "enlarge_box",
    "image_size",
    "load_detector_boxes",
    "random_frames_per_group",
    "require",
    "tight_box",
]


def require(obj: Mapping[str, Any], key: str, where: str) -> Any:
    """``obj[key]``, or a ``ValueError`` naming ``where`` (file and record) and the missing key."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if key not in obj:
        raise ValueError(f"{where}: missing key {key!r} (present: {sorted(obj)[:12]})")
    return obj[key]


def as_array(value: Any, shape: tuple[int, ...], where: str, field: str) -> np.ndarray:
    """``value`` as float64 with exactly ``shape`` (−1 = any), else a ``ValueError`` naming the field."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: field {field!r} is not numeric (got {str(value)[:60]})") from None
    if arr.ndim != len(shape) or any(s not in (-1, a) for s, a in zip(shape, arr.shape)):
        raise ValueError(f"{where}: field {field!r} has shape {arr.shape}, expected {shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{where}: field {field!r} contains non-finite values")
    return arr


def enlarge_box(box_xywh: np.ndarray, factor: float) -> np.ndarray:
    """Scale boxes (..., 4) x, y, w, h about their centres by ``factor``."""
    b = np.asarray(box_xywh, dtype=np.float64)
    c = b[..., :2] + 0.5 * b[..., 2:]
    wh = b[..., 2:] * factor
    return np.concatenate([c - 0.5 * wh, wh], axis=-1)


def tight_box(joints_2d: np.ndarray, vis: np.ndarray | None = None, factor: float = 1.25) -> np.ndarray:
    """Box around the visible joints (..., J, 2) enlarged by ``factor`` (the crop later fixes the aspect).

    Raises ``ValueError`` when a sample has no visible joint.
    """
    j = np.asarray(joints_2d, dtype=np.float64)
    v = np.ones(j.shape[:-1], dtype=bool) if vis is None else np.asarray(vis) > 0
    if not v.any(axis=-1).all():
        raise ValueError("tight_box: a sample has no visible joint to bound")
    big = np.where(v[..., None], j, np.nan)
    lo = np.nanmin(big, axis=-2)
    hi = np.nanmax(big, axis=-2)
    wh = np.maximum(hi - lo, 1.0)
    return enlarge_box(np.concatenate([lo, wh], axis=-1), factor)


def check_joints_in_image(
    joints_2d: np.ndarray, vis: np.ndarray, width: float, height: float, where: str, margin: float = 0.5
) -> None:
    """Raise ``ValueError`` when a labelled joint lies more than ``margin`` × image size outside the image."""
    j = np.asarray(joints_2d, dtype=np.float64)
    v = np.asarray(vis) > 0
    lo = np.array([-margin * width, -margin * height])
    hi = np.array([(1 + margin) * width, (1 + margin) * height])
    bad = v & ((j < lo) | (j > hi)).any(axis=-1)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{where}: joint {k} at {j[k].tolist()} px lies outside the {int(width)}x{int(height)} image")


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of a JPEG or PNG from its header (no decode); other formats fall back to OpenCV."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    with open(p, "rb") as fh:
        head = fh.read(26)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
            w, h = struct.unpack(">II", head[16:24])
            return int(w), int(h)
        if head[:2] == b"\xff\xd8":
            fh.seek(2)
            while True:
                marker = fh.read(2)
                if len(marker) < 2 or marker[0] != 0xFF:
                    break
                while marker[1] == 0xFF:  # fill bytes
                    marker = marker[:1] + fh.read(1)
                code = marker[1]
                if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
                    continue
                seg = fh.read(2)
                if len(seg) < 2:
                    break
                (length,) = struct.unpack(">H", seg)
                if code in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                    data = fh.read(5)
                    h, w = struct.unpack(">HH", data[1:5])
                    return int(w), int(h)
                fh.seek(length - 2, os.SEEK_CUR)

    img = read_image_bgr(p)
    return int(img.shape[1]), int(img.shape[0])


def load_detector_boxes(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read person boxes from a JSON file: image path (as in the records) → (x, y, w, h, score).

    Accepted layouts: ``{"<image path>": [x, y, w, h(, score)]}`` or a list of
    ``{"image": "<path>", "bbox": [x, y, w, h], "score": s}`` (``file_name`` is accepted for ``image``); when an
    image has several boxes the highest score wins.
    """
    p = Path(path)
    data = read_json(p, "detector box file")
    out: dict[str, np.ndarray] = {}
    if isinstance(data, dict):
        items = [({"image": k, "bbox": v[:4], "score": v[4] if len(v) > 4 else 1.0}) for k, v in data.items()]
    elif isinstance(data, list):
        items = data
    else:
        raise ValueError(f"{p}: expected a JSON object or list, got {type(data).__name__}")
    for i, it in enumerate(items):
        where = f"{p} entry {i}"
        name = it.get("image", it.get("file_name")) if isinstance(it, dict) else None
        if name is None:
            raise ValueError(f"{where}: missing key 'image' (or 'file_name')")
        box = as_array(require(it, "bbox", where), (4,), where, "bbox")
        if box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"{where}: field 'bbox' has non-positive size {box.tolist()}")
        score = float(it.get("score", 1.0))
        if name not in out or score > out[name][4]:
            out[str(name)] = np.array([*box, score])
    return out


def apply_detector_boxes(
    records: PoseRecords, boxes: Mapping[str, np.ndarray], factor: float = 1.0, missing: str = "error"
) -> PoseRecords:
    """Replace record boxes by detector boxes (× ``factor``); ``missing`` = ``"error"`` or ``"keep"``."""
    if missing not in ("error", "keep"):
        raise ValueError(f"missing: expected 'error' or 'keep', got {missing!r}")
    new = records.box.astype(np.float64).copy()
    for i, name in enumerate(records.image_path.tolist()):
        b = boxes.get(name)
        if b is None:
            if missing == "error":
                raise ValueError(f"detector boxes: no box for image {name!r} (record {i})")
            continue
        new[i] = enlarge_box(np.asarray(b[:4], dtype=np.float64), factor)
    out = records.subset(slice(None))
    out.box = new.astype(np.float32)
    out.validate()
    return out


def random_frames_per_group(groups: Sequence[str] | np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of up to ``n`` random rows per group value (the original's "N frames per video"), seeded."""
    if n <= 0:
        raise ValueError(f"frames per video: expected > 0, got {n}")
    g = np.asarray(groups)
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    for value in np.unique(g):
        rows = np.flatnonzero(g == value)
        keep.append(rows if rows.size <= n else rng.choice(rows, size=n, replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
